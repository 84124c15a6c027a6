using System.Net.Sockets;

namespace Meerkat.Tests.Core;

public class WakeupTests
{
    /// <summary>Payload sizes cycle through 0..4095 bytes, and every 1,000th payload is 1 MiB, so
    /// the run covers empty, small and huge payloads without copying hundreds of gigabytes.</summary>
    private static int SizeOf(int i) => i % 1000 == 999 ? 1024 * 1024 : i % 4096;

    private static void Fill(Span<byte> payload, int thread, int i)
    {
        if (payload.Length >= 8) BitConverter.TryWriteBytes(payload, i);
        for (int k = 8; k < payload.Length; k++) payload[k] = (byte)(k * 31 + thread + i);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Eight_threads_of_100k_wakeups_arrive_once_in_order_with_equal_checksums(PollerBackend backend)
    {
        const int Threads = 8, PerThread = 100_000;
        using var manager = Loop.Create(backend);
        var listener = manager.Listen("tcp://127.0.0.1:0", null);
        var targets = new Connection[Threads];
        var received = new int[Threads];
        var sums = new ulong[Threads];
        int closed = 0;
        for (int t = 0; t < Threads; t++)
        {
            int thread = t;
            targets[t] = manager.Connect($"tcp://127.0.0.1:{listener.LocalEndPoint!.Port}", (c, e) =>
            {
                if (e.Kind == EventKind.Close) closed++;
                if (e.Kind != EventKind.Wakeup) return;
                int expectedSize = SizeOf(received[thread]);
                Assert.Equal(expectedSize, e.Data.Length);
                if (e.Data.Length >= 8) Assert.Equal(received[thread], BitConverter.ToInt32(e.Data));
                sums[thread] += Checksum.Of(e.Data);
                received[thread]++;
            });
        }
        manager.Until(() => targets.All(c => c.State == ConnectionState.Connected), what: "the targets to connect");
        var expected = new ulong[Threads];
        var producers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var buffer = new byte[1024 * 1024];
            for (int i = 0; i < PerThread; i++)
            {
                var payload = buffer.AsSpan(0, SizeOf(i));
                Fill(payload, t, i);
                expected[t] += Checksum.Of(payload);
                Assert.True(manager.Wakeup(targets[t].Id, payload));
            }
        })).ToArray();
        var all = Task.WhenAll(producers);
        manager.Until(() => all.IsCompleted && received.Sum() == Threads * PerThread, TimeSpan.FromSeconds(120), "every wakeup");
        all.GetAwaiter().GetResult();
        Assert.All(received, n => Assert.Equal(PerThread, n));
        Assert.Equal(expected, sums);
        targets[0].Close();
        manager.Until(() => closed == 1);
        Assert.False(manager.Wakeup(targets[0].Id, "gone"u8));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Post_runs_on_the_loop_thread_and_interrupts_a_blocked_poll(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        int loopThread = 0;
        var ran = new TaskCompletionSource<int>();
        var run = manager.RunAsync();
        manager.Post(() => loopThread = Environment.CurrentManagedThreadId);
        manager.Post(() => ran.SetResult(Environment.CurrentManagedThreadId));
        Assert.True(ran.Task.Wait(Loop.Deadline));
        Assert.Equal(loopThread, ran.Task.Result);
        Assert.NotEqual(Environment.CurrentManagedThreadId, loopThread);
        manager.Stop();
        Assert.True(run.Wait(Loop.Deadline), "Run returns promptly after Stop");
    }

    [Fact]
    public void Loop_calls_from_another_thread_while_running_are_refused()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var started = new TaskCompletionSource();
        var run = manager.RunAsync();
        manager.Post(started.SetResult);
        Assert.True(started.Task.Wait(Loop.Deadline));
        var ex = Assert.Throws<InvalidOperationException>(() => manager.Listen("tcp://127.0.0.1:0", null));
        Assert.Contains("loop thread", ex.Message, StringComparison.Ordinal);
        manager.Dispose();
        Assert.True(run.IsCompleted);
    }

    /// <summary>The loop spins briefly for a post it expects (ExpectPostSoon, used by the HTTP
    /// client after handing a response to its caller), with wakes suppressed meanwhile. Posts that
    /// land before, during, at the end of and after the spin must all arrive, on a loop that
    /// otherwise sleeps forever: a lost one hangs this ping-pong.</summary>
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Posts_racing_the_loops_spin_are_never_lost(PollerBackend backend)
    {
        const int RoundTrips = 20_000;
        using var manager = Loop.Create(backend);
        using var handedOff = new SemaphoreSlim(0);
        int delivered = 0;
        var run = manager.RunAsync();
        var poster = Task.Run(() =>
        {
            var random = new Random(7);
            for (int i = 0; i < RoundTrips; i++)
            {
                // Delays from none to twice the 50 µs spin budget, so posts fall on every side of it.
                long until = System.Diagnostics.Stopwatch.GetTimestamp() + random.Next(0, 100) * System.Diagnostics.Stopwatch.Frequency / 1_000_000;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(10);
                manager.Post(() =>
                {
                    delivered++;
                    manager.ExpectPostSoon();
                    handedOff.Release();
                });
                if (!handedOff.Wait(Loop.Deadline)) return false;
            }
            return true;
        });
        Assert.True(poster.Wait(TimeSpan.FromSeconds(120)) && poster.Result, $"a post was lost after {Volatile.Read(ref delivered)} round trips");
        Assert.Equal(RoundTrips, Volatile.Read(ref delivered));
        manager.Stop();
        Assert.True(run.Wait(Loop.Deadline), "Run returns promptly after Stop, spin or not");
    }
}
