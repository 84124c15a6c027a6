namespace Meerkat;

/// <summary>
/// The manager's timers, ordered by due time. Cancelled timers are dropped lazily when they
/// reach the front. Times are <see cref="System.Diagnostics.Stopwatch"/> ticks passed in by the
/// loop; this type never reads a clock.
/// </summary>
internal sealed class TimerQueue
{
    private readonly PriorityQueue<ManagerTimer, (long Due, long Sequence)> queue = new();
    private long sequence;

    public int Count => queue.Count;

    public void Add(ManagerTimer timer) => queue.Enqueue(timer, (timer.DueTicks, sequence++));

    /// <summary>Due time of the earliest live timer, or null.</summary>
    public long? NextDue()
    {
        while (queue.TryPeek(out var timer, out var priority))
        {
            if (!timer.IsCancelled) return priority.Due;
            queue.Dequeue();
        }
        return null;
    }

    /// <summary>Removes and returns the next timer due at or before <paramref name="now"/>.</summary>
    public bool TryTakeDue(long now, out ManagerTimer timer)
    {
        while (queue.TryPeek(out timer!, out var priority))
        {
            if (timer.IsCancelled) { queue.Dequeue(); continue; }
            if (priority.Due > now) return false;
            queue.Dequeue();
            return true;
        }
        return false;
    }

    public void Clear() => queue.Clear();
}
