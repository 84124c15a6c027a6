using System.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;
using Microsoft.AspNetCore.Builder;

namespace Meerkat.Tests.Http.Client;

/// <summary>
/// Regressions for the client hang under concurrency: the pollers cleared their wake flag before
/// draining the wake channel, so a Wake() racing the drain was swallowed and the flag stayed set;
/// every later Post (each request's Acquire) and Stop then waited for unrelated I/O or a timer.
/// With 16 to 64 concurrent keep-alive loops the client stalled after a few hundred to a few
/// thousand requests, with every task awaiting and Dispose never returning.
/// </summary>
public sealed class LostWakeupTests
{
    private const int Tasks = 64, RequestsPerTask = 150;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SixtyFourConcurrentKeepAliveLoopsAgainstKestrelNeverStall()
    {
        await using var server = await Kestrel.StartAsync(app => app.MapGet("/", () => "Hello, World!"));
        await RunLoops(server.Url + "/");
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public async Task SixtyFourConcurrentKeepAliveLoopsAgainstMeerkatsServerNeverStall(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
        });
        string url = $"http://127.0.0.1:{listener.LocalEndPoint!.Port}/";
        using var stop = new CancellationTokenSource();
        var loop = manager.RunAsync(stop.Token);
        try
        {
            await RunLoops(url, backend);
        }
        finally
        {
            stop.Cancel();
            await loop.WaitAsync(Deadline);
        }
    }

    private static async Task RunLoops(string url, PollerBackend backend = PollerBackend.Epoll)
    {
        await using var client = MeerkatHttpClientTests.NewClient(o =>
        {
            o.MaxConnectionsPerOrigin = Tasks;
            o.Manager!.Backend = backend;
        });
        int done = 0;
        async Task Worker()
        {
            for (int i = 0; i < RequestsPerTask; i++)
            {
                var body = await client.GetBytesAsync(url);
                Assert.Equal(13, body.Length);
                Interlocked.Increment(ref done);
            }
        }
        var all = Task.WhenAll(Enumerable.Range(0, Tasks).Select(_ => Task.Run(Worker)));
        try
        {
            await all.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"stalled: {Volatile.Read(ref done)} of {Tasks * RequestsPerTask} requests done after {Deadline.TotalSeconds} s, {client.ConnectionsOpened} connections opened");
        }
        Assert.Equal(Tasks * RequestsPerTask, done);
        Assert.InRange(client.ConnectionsOpened, 1, Tasks);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void PostsFromManyThreadsRacingTheWakeDrainAreNeverLost(PollerBackend backend)
    {
        // Each thread posts and waits for its action before posting again, so a lost wakeup shows as
        // a post that never runs (nothing else wakes this loop: no sockets, no timers).
        const int Threads = 8, PostsPerThread = 20_000;
        using var manager = Loop.Create(backend);
        using var stop = new CancellationTokenSource();
        var loop = manager.RunAsync(stop.Token);
        int ran = 0;
        var posters = Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            using var signal = new SemaphoreSlim(0);
            for (int i = 0; i < PostsPerThread; i++)
            {
                manager.Post(() => { ran++; signal.Release(); });
                if (!signal.Wait(TimeSpan.FromSeconds(10))) return false;
            }
            return true;
        })).ToArray();
        Assert.True(Task.WaitAll(posters, Deadline), "the posting threads did not finish");
        Assert.All(posters, p => Assert.True(p.Result, "a posted action never ran: its wakeup was lost"));
        stop.Cancel();
        Assert.True(loop.Wait(Deadline));
        Assert.Equal(Threads * PostsPerThread, ran);
    }

    [Fact]
    public async Task DisposeWithTheLoopBlockedFailsOutstandingRequestsAndReturns()
    {
        using var release = new ManualResetEventSlim();
        var client = MeerkatHttpClientTests.NewClient();
        client.DisposeTimeout = TimeSpan.FromMilliseconds(200);
        using var blocked = new ManualResetEventSlim();
        client.Manager.Post(() => { blocked.Set(); release.Wait(); });
        Assert.True(blocked.Wait(Deadline));
        var request = client.GetBytesAsync("http://127.0.0.1:9/never");
        var clock = Stopwatch.StartNew();
        var dispose = Task.Run(client.Dispose);
        Assert.True(dispose.Wait(Deadline), "Dispose hung on a blocked loop");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => request.WaitAsync(Deadline));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetBytesAsync("http://127.0.0.1:9/"));
        release.Set();
    }

    [Fact]
    public async Task DisposeOnACallerRunManagerThatIsNotPolledFailsOutstandingRequests()
    {
        using var manager = new Manager(new ManagerOptions { CheckInvariants = true });
        var client = new MeerkatHttpClient(manager);
        var request = client.GetBytesAsync("http://127.0.0.1:9/never");
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => request.WaitAsync(Deadline));
    }
}
