namespace Meerkat.Sntp;

/// <summary>
/// Keeps asking one NTP server on a manager's loop, as <see cref="SntpPollSchedule"/> says: at the
/// base interval while it answers, backing off when it does not or sends <c>RATE</c>, stopping for
/// good on <c>DENY</c> or <c>RSTR</c>. Made by <c>manager.StartSntpPolling(...)</c>; every member
/// runs on the loop thread.
/// </summary>
public sealed class SntpPoller
{
    private readonly Manager manager;
    private readonly string server;
    private readonly SntpOptions? options;
    private readonly SntpCallback callback;
    private Connection? query;
    private ManagerTimer? timer;

    internal SntpPoller(Manager manager, string server, SntpPollSchedule schedule, SntpOptions? options, SntpCallback callback)
    {
        this.manager = manager;
        this.server = server;
        this.options = options;
        this.callback = callback;
        Schedule = schedule;
    }

    /// <summary>The schedule: the current interval, whether polling stopped.</summary>
    public SntpPollSchedule Schedule { get; }

    /// <summary>True once stopped, by <see cref="Stop"/> or by the server's <c>DENY</c>/<c>RSTR</c>.</summary>
    public bool IsStopped { get; private set; }

    /// <summary>Stops polling; a query in flight is abandoned without a report. Idempotent.</summary>
    public void Stop()
    {
        IsStopped = true;
        timer?.Cancel();
        query?.Close();
    }

    internal void Start() => Ask();

    private void Ask()
    {
        if (IsStopped) return;
        query = manager.QuerySntp(server, OnOutcome, options);
    }

    private void OnOutcome(SntpResult? result, Exception? error)
    {
        query = null;
        if (IsStopped) return;
        var next = Schedule.OnOutcome(result is not null, error);
        if (next is null) IsStopped = true;
        callback(result, error);
        if (next is { } wait && !IsStopped) timer = manager.AddTimer(wait, TimeSpan.Zero, _ => Ask());
    }
}
