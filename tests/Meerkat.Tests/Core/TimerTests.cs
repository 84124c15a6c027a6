using System.Diagnostics;

namespace Meerkat.Tests.Core;

[Collection(Serial.Name)]
public class TimerTests
{
    /// <summary>Tolerance: a timer never fires early, and fires within 250 ms of its due time
    /// (generous, for a loaded two-core CI machine; typically under 2 ms).</summary>
    private static readonly TimeSpan Late = TimeSpan.FromMilliseconds(250);

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void One_shot_timers_fire_in_due_order_and_on_time(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var clock = Stopwatch.StartNew();
        var fired = new List<(int Due, TimeSpan At)>();
        foreach (int due in new[] { 250, 50, 200, 100, 150 })
            manager.AddTimer(TimeSpan.FromMilliseconds(due), TimeSpan.Zero, _ => fired.Add((due, clock.Elapsed)));
        manager.Until(() => fired.Count == 5, what: "five timers");
        Assert.Equal([50, 100, 150, 200, 250], fired.Select(f => f.Due));
        foreach (var (due, at) in fired)
        {
            Assert.True(at >= TimeSpan.FromMilliseconds(due), $"timer due at {due} ms fired early, at {at.TotalMilliseconds} ms");
            Assert.True(at <= TimeSpan.FromMilliseconds(due) + Late, $"timer due at {due} ms fired late, at {at.TotalMilliseconds} ms");
        }
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_repeating_timer_keeps_its_period_and_stops_when_cancelled(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var clock = Stopwatch.StartNew();
        var ticks = new List<TimeSpan>();
        var timer = manager.AddTimer(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(20), t =>
        {
            ticks.Add(clock.Elapsed);
            if (ticks.Count == 10) t.Cancel();
        });
        manager.Until(() => timer.IsCancelled, what: "ten ticks");
        Assert.Equal(10, ticks.Count);
        Assert.True(ticks[^1] >= TimeSpan.FromMilliseconds(200), $"ten 20 ms periods took only {ticks[^1].TotalMilliseconds} ms");
        Assert.True(ticks[^1] <= TimeSpan.FromMilliseconds(200) + Late, $"ten 20 ms periods took {ticks[^1].TotalMilliseconds} ms");
        for (int i = 0; i < 5; i++) manager.Poll(5);
        Assert.Equal(10, ticks.Count);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Connection_timers_raise_timer_events_and_die_with_the_connection(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var log = new EventLog();
        ManagerTimer? timer = null;
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.Open) timer = c.AddTimer(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));
            if (e.Kind == EventKind.Timer)
            {
                Assert.Same(timer, e.Timer);
                if (log.Count(EventKind.Timer) == 3) c.Close();
            }
        };
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        manager.Until(() => listener.State == ConnectionState.Closed, what: "three timer events");
        Assert.Equal(3, log.Count(EventKind.Timer));
        for (int i = 0; i < 5; i++) manager.Poll(15);
        Assert.Equal(3, log.Count(EventKind.Timer));
        Assert.True(timer!.IsCancelled);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_stopped_loop_returns_promptly_even_with_far_timers(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        manager.AddTimer(TimeSpan.FromHours(1), TimeSpan.Zero, _ => { });
        var running = new TaskCompletionSource();
        var run = manager.RunAsync();
        manager.Post(running.SetResult);
        Assert.True(running.Task.Wait(Loop.Deadline));
        var clock = Stopwatch.StartNew();
        manager.Stop();
        Assert.True(run.Wait(Loop.Deadline));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Run took {clock.Elapsed.TotalMilliseconds} ms to return");
    }

    [Fact]
    public void Cancelling_the_token_stops_run()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        using var cts = new CancellationTokenSource();
        var run = manager.RunAsync(cts.Token);
        cts.Cancel();
        Assert.True(run.Wait(Loop.Deadline));
    }

    [Fact]
    public void A_cancelled_timer_no_longer_keeps_its_callback_state_alive()
    {
        // Regression: TLS handshake timers cancelled at handshake end kept every closed
        // connection's SslStream alive until their due time (~15 KB per connection for 10 s).
        using var manager = Loop.Create(PollerBackend.Auto);
        var state = Arm(manager);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.False(state.IsAlive, "the cancelled timer still references its callback's state");

        static WeakReference Arm(Manager manager)
        {
            var payload = new byte[1024 * 1024];
            var timer = manager.AddTimer(TimeSpan.FromHours(1), TimeSpan.Zero, _ => GC.KeepAlive(payload));
            timer.Cancel();
            return new WeakReference(payload);
        }
    }
}
