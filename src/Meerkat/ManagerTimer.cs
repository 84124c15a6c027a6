namespace Meerkat;

/// <summary>
/// A one-shot or repeating timer on a manager's loop thread, made by
/// <see cref="Manager.AddTimer(TimeSpan, TimeSpan, Action{ManagerTimer})"/> or <see cref="Connection.AddTimer"/>.
/// </summary>
public sealed class ManagerTimer
{
    internal ManagerTimer(Manager manager, long dueTicks, long periodTicks, Action<ManagerTimer>? callback, Connection? connection)
    {
        Manager = manager;
        DueTicks = dueTicks;
        PeriodTicks = periodTicks;
        Callback = callback;
        Connection = connection;
    }

    /// <summary>The manager that runs the timer.</summary>
    public Manager Manager { get; }

    /// <summary>The connection that receives <see cref="EventKind.Timer"/> events, if any.</summary>
    public Connection? Connection { get; }

    /// <summary>True once cancelled, or after a one-shot timer fired.</summary>
    public bool IsCancelled { get; private set; }

    /// <summary>A value for the caller's use.</summary>
    public object? Tag { get; set; }

    internal long DueTicks { get; set; }

    internal long PeriodTicks { get; }

    internal Action<ManagerTimer>? Callback { get; private set; }

    /// <summary>Stops the timer; it will not fire again. Idempotent. Call on the loop thread.</summary>
    /// <remarks>A cancelled timer leaves the queue lazily, at its due time; dropping its callback now
    /// means it no longer keeps alive whatever the callback captured (a closed connection's state).</remarks>
    public void Cancel()
    {
        IsCancelled = true;
        Callback = null;
    }
}
