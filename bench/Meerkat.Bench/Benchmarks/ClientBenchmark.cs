using System.Diagnostics;
using System.Globalization;
using Meerkat.Bench.Harness;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>client</c>: HTTP client throughput, <see cref="MeerkatHttpClient"/> vs. <see cref="HttpClient"/>
/// (SocketsHttpHandler), both in this process, against one Kestrel server in a child process (the
/// plaintext benchmark's <c>serve-kestrel --style raw</c>: 13-byte body). Two loads:
/// <c>sequential</c>, one task awaiting GET after GET on one keep-alive connection, and
/// <c>concurrent</c>, N tasks (default 64) looping GETs, with both clients allowed N connections.
/// With <c>--protocol h2c</c> the server's endpoint speaks HTTP/2 only and both clients speak it with
/// prior knowledge (MeerkatHttpClient's <c>Http2PriorKnowledge</c>, HttpClient's <c>HttpVersion.Version20</c>
/// with <c>RequestVersionExact</c>): each multiplexes its requests on one connection.
/// </summary>
public static class ClientBenchmark
{
    private const string MeerkatName = "MeerkatHttpClient";
    private const string DotnetName = "HttpClient (SocketsHttpHandler)";

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 0.5, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int concurrency = args.Int("concurrency", 64, 1, 1024);
        int rounds = args.Int("rounds", 1, 1, 10);
        string only = args.Choice("client", "both", "both", "meerkat", "httpclient");
        bool h2c = args.Choice("protocol", "http1", "http1", "h2c") == "h2c";
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

        Report.Machine();
        Console.WriteLine($"client: GET /plaintext {(h2c ? "over HTTP/2 (h2c, prior knowledge) " : "")}against Kestrel (child process), warm-up {PlaintextBenchmark.Str(warmup)} s + measure " +
            $"{PlaintextBenchmark.Str(seconds)} s per (client, load); loads: sequential (1 task, 1 connection), concurrent ({concurrency} tasks, " +
            $"up to {concurrency} connections); {rounds} round(s), clients alternate; a fresh client instance per load");
        Console.WriteLine();

        var results = new List<Result>();
        using var server = PlaintextBenchmark.ServerProcess.Start(new PlaintextBenchmark.ServerSpec("Kestrel (raw)", "serve-kestrel",
            h2c ? ["--style", "raw", "--protocols", "h2"] : ["--style", "raw"]));
        string url = server.Url + "/plaintext";
        Console.WriteLine($"server: Kestrel raw app.Run, pid {server.Pid}, {url}");
        Console.WriteLine();
        var clients = new List<(string Name, Func<int, IGetter> Create)>();
        if (only is "both" or "meerkat") clients.Add((MeerkatName, n => new MeerkatGetter(n, h2c)));
        if (only is "both" or "httpclient") clients.Add((DotnetName, n => new DotnetGetter(n, h2c)));

        for (int round = 1; round <= rounds; round++)
        {
            foreach (var (load, tasks) in new[] { ("sequential", 1), ($"concurrent x{concurrency}", concurrency) })
            {
                foreach (var (name, create) in clients)
                {
                    using var getter = create(tasks);
                    var r = Measure(getter, url, tasks, warmup, seconds);
                    r = r with { Client = name, Load = load, Round = round };
                    results.Add(r);
                    Console.WriteLine($"round {round}, {load}, {name}: {r.PerSecond:N0} req/s, {r.Requests:N0} requests, {r.AllocPerRequest:N0} B/req, " +
                        $"{r.CpuMicrosPerRequest:F1} µs CPU/req (client process), connections opened {getter.ConnectionsOpened}, warm-up requests {r.WarmupRequests:N0}, errors {r.Errors}" +
                        (r.FirstError is null ? "" : $" (first: {r.FirstError})"));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| round | load | MeerkatHttpClient req/s | HttpClient req/s | Meerkat/HttpClient | Meerkat B/req | HttpClient B/req | Meerkat CPU µs/req | HttpClient CPU µs/req | errors |");
        Console.WriteLine("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var group in results.GroupBy(r => (r.Round, r.Load)))
        {
            var m = group.FirstOrDefault(r => r.Client == MeerkatName);
            var d = group.FirstOrDefault(r => r.Client == DotnetName);
            string ratio = m is not null && d is not null ? (m.PerSecond / d.PerSecond).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
            Console.WriteLine($"| {group.Key.Round} | {group.Key.Load} | {m?.PerSecond.ToString("N0") ?? "-"} | {d?.PerSecond.ToString("N0") ?? "-"} | {ratio} | " +
                $"{m?.AllocPerRequest.ToString("N0") ?? "-"} | {d?.AllocPerRequest.ToString("N0") ?? "-"} | {m?.CpuMicrosPerRequest.ToString("F1") ?? "-"} | " +
                $"{d?.CpuMicrosPerRequest.ToString("F1") ?? "-"} | {(m?.Errors ?? 0) + (d?.Errors ?? 0)} |");
        }
        Console.WriteLine();
        Console.WriteLine("B/req = GC.GetTotalAllocatedBytes(precise) delta of the whole client process over the measured window / requests " +
            "(includes Meerkat's loop thread; nothing else runs in this process). CPU µs/req = this process's user+sys time / requests.");
        return results.Any(r => r.Errors > 0 || r.Requests == 0) ? 1 : 0;
    }

    private sealed record Result(long Requests, double Seconds, long AllocatedBytes, double CpuSeconds, int Errors, string? FirstError)
    {
        public string Client { get; init; } = "";
        public string Load { get; init; } = "";
        public int Round { get; init; }
        public int Hung { get; init; }
        public long WarmupRequests { get; init; }
        public double PerSecond => Requests / Seconds;
        public double AllocPerRequest => Requests == 0 ? double.NaN : AllocatedBytes / (double)Requests;
        public double CpuMicrosPerRequest => Requests == 0 ? double.NaN : CpuSeconds * 1e6 / Requests;
    }

    /// <summary>Warm-up, then a timed window: <paramref name="tasks"/> tasks each awaiting GETs back to back.</summary>
    private static Result Measure(IGetter getter, string url, int tasks, double warmup, double seconds)
    {
        long count = 0;
        int errors = 0, phase = 0; // 0 warm-up, 1 measure, 2 stop
        string? firstError = null;
        async Task Loop()
        {
            await Task.Yield();
            while (Volatile.Read(ref phase) < 2)
            {
                try
                {
                    int length = await getter.GetAsync(url).ConfigureAwait(false);
                    if (length != 13) throw new InvalidDataException($"body of {length} bytes, expected 13");
                    Interlocked.Increment(ref count);
                }
                catch (Exception ex)
                {
                    if (Interlocked.Increment(ref errors) == 1) firstError = $"{ex.GetType().Name}: {ex.Message}";
                    if (errors > 100) return;
                }
            }
        }

        var running = Enumerable.Range(0, tasks).Select(_ => Task.Run(Loop)).ToArray();
        Thread.Sleep(TimeSpan.FromSeconds(warmup));
        GC.Collect();
        var self = Process.GetCurrentProcess();
        self.Refresh();
        var (count0, alloc0, cpu0) = (Interlocked.Read(ref count), GC.GetTotalAllocatedBytes(true), self.TotalProcessorTime);
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref phase, 1);
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        self.Refresh();
        var (count1, alloc1, cpu1) = (Interlocked.Read(ref count), GC.GetTotalAllocatedBytes(true), self.TotalProcessorTime);
        double elapsed = clock.Elapsed.TotalSeconds;
        Volatile.Write(ref phase, 2);
        // Every task finishes its request in flight and stops; one that does not within 10 s is a
        // request that never completed: counted as an error (the client is disposed afterwards).
        Task.WaitAll(running.Select(t => t.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { })).ToArray());
        int hung = running.Count(t => !t.IsCompleted);
        if (hung > 0 && firstError is null) firstError = $"{hung} of {tasks} tasks still awaiting a response 10 s after the window ended";
        return new Result(count1 - count0, elapsed, alloc1 - alloc0, (cpu1 - cpu0).TotalSeconds, Volatile.Read(ref errors) + hung, firstError) // errors: warm-up included
        { Hung = hung, WarmupRequests = count0 };
    }

    private interface IGetter : IDisposable
    {
        /// <summary>GETs the URL, reads the whole body, returns its length.</summary>
        Task<int> GetAsync(string url);

        string ConnectionsOpened { get; }
    }

    /// <summary>MeerkatHttpClient with its own manager on its own thread (the default constructor).</summary>
    private sealed class MeerkatGetter(int connections, bool h2c) : IGetter
    {
        private readonly MeerkatHttpClient client = new(new MeerkatHttpClientOptions
        {
            MaxConnectionsPerOrigin = connections,
            Connection = new HttpClientConnectionOptions { Http2PriorKnowledge = h2c },
        });

        public async Task<int> GetAsync(string url) => (await client.GetBytesAsync(url).ConfigureAwait(false)).Length;

        public string ConnectionsOpened => client.ConnectionsOpened.ToString(CultureInfo.InvariantCulture);

        // Bounded: with requests stuck in the client (see bench/README.md), Dispose can block too.
        public void Dispose()
        {
            if (!Task.Run(client.Dispose).Wait(TimeSpan.FromSeconds(10)))
                Console.WriteLine("  MeerkatHttpClient.Dispose did not return within 10 s (abandoned)");
        }
    }

    /// <summary>HttpClient over SocketsHttpHandler, limited to the same number of connections.</summary>
    private sealed class DotnetGetter(int connections, bool h2c) : IGetter
    {
        private readonly HttpClient client = new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections, UseProxy = false, UseCookies = false, AllowAutoRedirect = true,
        })
        {
            DefaultRequestVersion = h2c ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11,
            DefaultVersionPolicy = h2c ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
        };

        public async Task<int> GetAsync(string url) => (await client.GetByteArrayAsync(url).ConfigureAwait(false)).Length;

        public string ConnectionsOpened => "n/a";

        public void Dispose() => client.Dispose();
    }
}
