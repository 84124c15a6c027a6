using System.Buffers;
using System.Collections.Concurrent;
using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// The manager's cross-thread inbox: what other threads hand the loop (<see cref="Manager.Post"/>ed
/// actions and work items, <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/> payloads, a stop
/// request), each followed by a wake of the poller. The loop delivers them in its posted phase.
/// </summary>
/// <remarks>
/// Thread-safe: <see cref="Post"/>, <see cref="Wakeup"/>, <see cref="RequestStop"/>,
/// <see cref="HasWork"/>. Everything else runs on the loop thread. Wakeup payloads are copied into
/// pooled arrays, delivered in order per address, never dropped while their connection lives.
/// </remarks>
internal sealed class Inbox(Manager manager, Poller poller, ConnectionTable table)
{
    private static readonly long SpinBudgetTicks = System.Diagnostics.Stopwatch.Frequency / 20_000; // 50 µs

    private readonly ConcurrentQueue<object> posted = new();
    private readonly ConcurrentQueue<(long Id, byte[] Payload, int Length)> wakeups = new();
    private readonly ConcurrentDictionary<long, (Connection Connection, object Target)> wakeupTargets = new();
    private volatile bool stopRequested;
    private bool spinNext;
    private Func<bool>? arrived;

    /// <summary>Work another thread handed over: posted work, wakeups, a stop. Thread-safe.</summary>
    public bool HasWork => !posted.IsEmpty || !wakeups.IsEmpty || stopRequested;

    /// <summary>True from <see cref="RequestStop"/> until <see cref="ClearStop"/>. Thread-safe.</summary>
    public bool IsStopRequested => stopRequested;

    /// <summary>Queues an <see cref="Action"/>, an <see cref="ILoopWorkItem"/> or (from a shared
    /// acceptor) a disposable hand-over, and wakes the loop. Thread-safe.</summary>
    public void Post(object work)
    {
        posted.Enqueue(work);
        poller.Wake();
    }

    /// <summary>Queues a copy of <paramref name="payload"/> for <paramref name="id"/> (a connection, or
    /// a target of <see cref="RegisterTarget"/>). Thread-safe.</summary>
    /// <returns>False when nothing lives at <paramref name="id"/>.</returns>
    public bool Wakeup(long id, ReadOnlySpan<byte> payload)
    {
        if (!table.Contains(id) && !wakeupTargets.ContainsKey(id)) return false;
        byte[] copy = payload.IsEmpty ? [] : ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(copy);
        wakeups.Enqueue((id, copy, payload.Length));
        poller.Wake();
        return true;
    }

    /// <summary>Makes <see cref="Manager.Run"/> return after the current iteration. Thread-safe.</summary>
    public void RequestStop(bool wake)
    {
        stopRequested = true;
        if (wake) poller.Wake();
    }

    /// <summary>Loop thread: <see cref="Manager.Run"/> returned; the next one runs again.</summary>
    public void ClearStop() => stopRequested = false;

    /// <summary>Loop thread: a new id that <see cref="Wakeup"/> delivers to <paramref name="connection"/>'s
    /// protocol (<see cref="Protocol.OnAddressedWakeup"/>) with <paramref name="target"/>.</summary>
    public long RegisterTarget(Connection connection, object target)
    {
        long id = ConnectionTable.NextId();
        wakeupTargets[id] = (connection, target);
        return id;
    }

    /// <summary>Forgets an id of <see cref="RegisterTarget"/>: later wakeups to it are refused (queued ones dropped).</summary>
    public void UnregisterTarget(long id) => wakeupTargets.TryRemove(id, out _);

    /// <summary>Loop thread: work was just handed to another thread that will probably post back
    /// within microseconds; the next wait spins briefly for it (<see cref="SpinIfExpected"/>).</summary>
    public void ExpectPostSoon() => spinNext = true;

    /// <summary>Loop thread, before a wait of <paramref name="timeoutMs"/>: when a post is expected
    /// (and the wait would sleep), busy-waits up to 50 µs for it.</summary>
    /// <returns>True when work arrived: the wait should not sleep.</returns>
    public bool SpinIfExpected(int timeoutMs)
    {
        if (!spinNext) return false;
        spinNext = false;
        return timeoutMs != 0 && poller.SpinUntil(arrived ??= () => HasWork, SpinBudgetTicks);
    }

    /// <summary>Loop thread, the posted phase: runs posted work, then delivers wakeups; only what was
    /// queued when the phase began.</summary>
    public void Deliver()
    {
        for (int n = posted.Count; n > 0 && posted.TryDequeue(out var work); n--)
            if (work is Action action) action(); else ((ILoopWorkItem)work).Run();
        for (int n = wakeups.Count; n > 0 && wakeups.TryDequeue(out var wakeup); n--)
        {
            if (table.TryGet(wakeup.Id, out var connection))
            {
                if (connection.State < ConnectionState.Closing && connection.IsOpenRaised)
                    manager.Raise(connection, new Event(EventKind.Wakeup, wakeup.Payload.AsSpan(0, wakeup.Length)));
            }
            else if (wakeupTargets.TryGetValue(wakeup.Id, out var target) && target.Connection is { State: < ConnectionState.Closing, IsOpenRaised: true, Protocol: { } protocol })
            {
                protocol.OnAddressedWakeup(target.Connection, target.Target, wakeup.Payload.AsSpan(0, wakeup.Length));
            }
            if (wakeup.Payload.Length > 0) ArrayPool<byte>.Shared.Return(wakeup.Payload);
        }
    }

    /// <summary>The manager is torn down: drops what was never delivered (disposing hand-overs, e.g.
    /// a socket from a shared acceptor) and returns the payloads' arrays.</summary>
    public void Discard()
    {
        while (posted.TryDequeue(out var work))
            if (work is IDisposable unrun) unrun.Dispose();
        while (wakeups.TryDequeue(out var wakeup))
            if (wakeup.Payload.Length > 0) ArrayPool<byte>.Shared.Return(wakeup.Payload);
    }
}
