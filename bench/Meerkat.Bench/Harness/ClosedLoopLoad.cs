using System.Diagnostics;

namespace Meerkat.Bench.Harness;

/// <summary>One client connection of a closed-loop load: each call does one blocking request/response.</summary>
public interface ILoadClient : IDisposable
{
    /// <summary>Sends one request and waits for its whole response; throws on any failure.</summary>
    void RoundTrip();
}

/// <summary>What one closed-loop run measured (the measurement window only, warm-up excluded).</summary>
public sealed record LoadResult(string Name, LoadSettings Settings, long RoundTrips, double Seconds,
    long ProcessAllocatedBytes, long LoadAllocatedBytes, int Gen0Collections, int Errors, string? FirstError)
{
    public double RoundTripsPerSecond => RoundTrips / Seconds;

    /// <summary>Bytes the process allocated per round trip outside the load generator's own
    /// threads: in practice, the server under test (plus runtime background work).</summary>
    public double ServerBytesPerRoundTrip => RoundTrips == 0 ? double.NaN : (ProcessAllocatedBytes - LoadAllocatedBytes) / (double)RoundTrips;

    public double LoadBytesPerRoundTrip => RoundTrips == 0 ? double.NaN : LoadAllocatedBytes / (double)RoundTrips;
}

/// <summary>
/// The shared load generator: N connections, one dedicated thread each (blocking I/O, so the load
/// never competes with the server for the .NET thread pool), each doing request/response round
/// trips back to back. A warm-up phase, then a timed measurement phase; every phase is bounded.
/// </summary>
public static class ClosedLoopLoad
{
    private const int Pad = 16; // longs per counter: one cache line or more apart, no false sharing
    private const int Warmup = 0, Measure = 1, Done = 2;

    /// <param name="onMeasure">Optional: called with true right before the measured window opens and
    /// with false right after it closes (e.g. to sample a server child's CPU time).</param>
    public static LoadResult Run(string name, LoadSettings settings, Func<int, ILoadClient> connect, Action<bool>? onMeasure = null)
    {
        int n = settings.Connections;
        var clients = new ILoadClient[n];
        var threads = new Thread[n];
        var counts = new long[n * Pad];
        var allocAt = new long[n, 3]; // each load thread's own allocation count as it saw each phase begin
        int phase = Warmup, errors = 0;
        string? firstError = null;

        try
        {
            for (int i = 0; i < n; i++) clients[i] = connect(i);
            for (int i = 0; i < n; i++)
            {
                int index = i;
                threads[i] = new Thread(() =>
                {
                    var client = clients[index];
                    int seen = Warmup;
                    allocAt[index, Warmup] = GC.GetAllocatedBytesForCurrentThread();
                    try
                    {
                        while (true)
                        {
                            int now = Volatile.Read(ref phase);
                            while (seen < now) allocAt[index, ++seen] = GC.GetAllocatedBytesForCurrentThread();
                            if (now == Done) break;
                            client.RoundTrip();
                            Volatile.Write(ref counts[index * Pad], counts[index * Pad] + 1);
                        }
                    }
                    catch (Exception ex)
                    {
                        while (seen < Done) allocAt[index, ++seen] = GC.GetAllocatedBytesForCurrentThread();
                        if (Interlocked.Increment(ref errors) == 1) firstError = $"{ex.GetType().Name}: {ex.Message}";
                    }
                }) { IsBackground = true, Name = $"load-{i}" };
            }
            foreach (var thread in threads) thread.Start();

            Thread.Sleep(settings.Warmup);
            GC.Collect();
            onMeasure?.Invoke(true);
            var (startCount, startAlloc, startGen0) = (Sum(counts), GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0));
            var clock = Stopwatch.StartNew();
            Volatile.Write(ref phase, Measure);

            Thread.Sleep(settings.Duration);
            Volatile.Write(ref phase, Done);
            var (endCount, endAlloc, endGen0) = (Sum(counts), GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0));
            double seconds = clock.Elapsed.TotalSeconds;
            onMeasure?.Invoke(false);

            foreach (var thread in threads)
                if (!thread.Join(TimeSpan.FromSeconds(10))) throw new TimeoutException($"{name}: a load thread did not stop");
            long loadAlloc = 0;
            for (int i = 0; i < n; i++) loadAlloc += allocAt[i, Done] - allocAt[i, Measure];
            return new LoadResult(name, settings, endCount - startCount, seconds, endAlloc - startAlloc, loadAlloc,
                endGen0 - startGen0, errors, firstError);
        }
        finally
        {
            Volatile.Write(ref phase, Done);
            foreach (var client in clients) client?.Dispose();
        }
    }

    private static long Sum(long[] counts)
    {
        long total = 0;
        for (int i = 0; i < counts.Length; i += Pad) total += Volatile.Read(ref counts[i]);
        return total;
    }
}
