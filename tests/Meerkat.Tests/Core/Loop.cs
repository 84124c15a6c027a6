using System.Diagnostics;

namespace Meerkat.Tests.Core;

/// <summary>Test helpers that drive a manager from the test thread, with the invariant checker on.</summary>
internal static class Loop
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static TheoryData<PollerBackend> Backends => new(PollerBackend.Epoll, PollerBackend.Portable);

    public static Manager Create(PollerBackend backend, Action<ManagerOptions>? configure = null)
    {
        var options = new ManagerOptions { Backend = backend, CheckInvariants = true };
        configure?.Invoke(options);
        return new Manager(options);
    }

    /// <summary>Polls until the condition holds; fails the test after the deadline.</summary>
    public static void Until(this Manager manager, Func<bool> condition, TimeSpan? deadline = null, string? what = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = deadline ?? Deadline;
        while (!condition())
        {
            if (clock.Elapsed > limit) Assert.Fail($"timed out after {limit.TotalSeconds} s waiting for {what ?? "the condition"}");
            manager.Poll(10);
        }
    }

    /// <summary>Polls until the task completes (it runs elsewhere, e.g. a blocking peer).</summary>
    public static T Until<T>(this Manager manager, Task<T> task)
    {
        manager.Until(() => task.IsCompleted, what: "the peer task");
        return task.GetAwaiter().GetResult();
    }

    public static void Until(this Manager manager, Task task)
    {
        manager.Until(() => task.IsCompleted, what: "the peer task");
        task.GetAwaiter().GetResult();
    }
}

/// <summary>Records every event per connection and checks the balance of opens and closes.</summary>
internal sealed class EventLog
{
    private readonly Dictionary<long, List<EventKind>> events = [];

    public List<Exception> Errors { get; } = [];

    public ConnectionHandler Handler => (c, e) => Record(c, e);

    public Action<Connection, Event>? Next { get; set; }

    public int Count(EventKind kind) => events.Values.Sum(list => list.Count(k => k == kind));

    public IReadOnlyList<EventKind> Of(Connection connection) => events.TryGetValue(connection.Id, out var list) ? list : [];

    public void Record(Connection connection, Event e)
    {
        if (!events.TryGetValue(connection.Id, out var list)) events[connection.Id] = list = [];
        if (e.Kind != EventKind.Poll) list.Add(e.Kind);
        if (e.Error is not null) Errors.Add(e.Error);
        Next?.Invoke(connection, e);
    }

    /// <summary>Every connection seen had exactly one Open, first, and every connection not
    /// listed as still open had exactly one Close, last.</summary>
    public void AssertBalanced(params Connection[] stillOpen)
    {
        foreach (var (id, list) in events)
        {
            string seen = string.Join(",", list);
            Assert.True(list[0] == EventKind.Open && list.Count(k => k == EventKind.Open) == 1, $"connection #{id}: {seen}");
            if (stillOpen.Any(c => c.Id == id))
            {
                Assert.DoesNotContain(EventKind.Close, list);
                continue;
            }
            Assert.True(list[^1] == EventKind.Close && list.Count(k => k == EventKind.Close) == 1, $"connection #{id}: {seen}");
        }
    }
}
