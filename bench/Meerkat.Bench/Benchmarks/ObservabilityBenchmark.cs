using System.Diagnostics;
using System.Globalization;
using System.Net;
using Meerkat.Bench.Harness;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using static Meerkat.Bench.Benchmarks.PlaintextBenchmark;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>observability</c>: what collecting Meerkat's telemetry costs. <c>GET /plaintext</c> under
/// <c>wrk</c> keep-alive against child servers that differ only in what listens: nothing; the
/// OpenTelemetry SDK collecting metrics; the SDK collecting metrics and every span (always-on
/// sampler, batch processor); Meerkat's <see cref="PrometheusMetrics"/> scraped once a second.
/// Kestrel with the same SDK collection (its own meters and ActivitySource) is the anchor. Ratios
/// are against the same server with nothing listening, in the same run; <c>--rounds</c> alternates
/// the configurations and takes medians.
/// </summary>
public static class ObservabilityBenchmark
{
    private static readonly byte[] Payload = "Hello, World!"u8.ToArray();

    private static readonly string[] MeerkatCollections = ["none", "metrics", "metrics+traces", "prometheus"];
    private static readonly string[] KestrelCollections = ["none", "metrics", "metrics+traces"];

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        int rounds = args.Int("rounds", 1, 1, 20);
        string serverChoice = args.Choice("server", "all", "all", "meerkat", "kestrel");
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (FindOnPath("wrk") is not { } wrk)
        {
            Console.WriteLine("wrk not found on PATH (sudo apt-get install wrk)");
            return 1;
        }
        var load = new LoadTool("wrk keep-alive", wrk, (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", url], ParseWrk);

        var specs = new List<ServerSpec>();
        if (serverChoice is "all" or "meerkat")
            specs.AddRange(MeerkatCollections.Select(c => new ServerSpec($"Meerkat, {c}", "serve-meerkat-observed", ["--collect", c, "--threads", Str(threads)])));
        if (serverChoice is "all" or "kestrel")
            specs.AddRange(KestrelCollections.Select(c => new ServerSpec($"Kestrel, {c}", "serve-kestrel-observed", ["--collect", c])));

        Report.Machine();
        Console.WriteLine($"observability: GET /plaintext, wrk -c {connections} -t {loadThreads}, warm-up {Str(warmup)} s + {Str(seconds)} s per server, " +
            $"{rounds} round(s); Meerkat on {threads} loop(s); each server a child process");
        Console.WriteLine();

        var results = specs.ToDictionary(s => s.Name, _ => new List<(double Rps, double CpuUs)>());
        for (int round = 1; round <= rounds; round++)
        {
            foreach (var spec in specs)
            {
                var (rps, cpu, error) = Measure(spec, load, warmup, seconds);
                Console.WriteLine($"  round {round} {spec.Name}: {rps:N0} req/s, server CPU {cpu:F1} µs/req{(error is null ? "" : ", ERROR: " + error)}");
                if (error is null) results[spec.Name].Add((rps, cpu));
            }
        }
        Console.WriteLine();

        Console.WriteLine("| server | collection | req/s | vs. nothing listening | server CPU µs/req |");
        Console.WriteLine("|---|---|--:|--:|--:|");
        foreach (var spec in specs)
        {
            var (server, collection) = (spec.Name.Split(", ")[0], spec.Name.Split(", ")[1]);
            var runs = results[spec.Name];
            var baseline = results[$"{server}, none"];
            if (runs.Count == 0) { Console.WriteLine($"| {server} | {collection} | error | - | - |"); continue; }
            double rps = Median(runs.Select(r => r.Rps)), cpu = Median(runs.Select(r => r.CpuUs));
            string ratio = baseline.Count == 0 ? "-" : Report.Number(rps / Median(baseline.Select(r => r.Rps)), "F2") + "x";
            Console.WriteLine($"| {server} | {collection} | {Report.Number(rps)} | {ratio} | {cpu:F1} |");
        }
        return results.Values.All(r => r.Count == rounds) ? 0 : 1;
    }

    private static (double Rps, double CpuMicros, string? Error) Measure(ServerSpec spec, LoadTool load, double warmup, double seconds)
    {
        ServerProcess? server = null;
        try
        {
            server = ServerProcess.Start(spec);
            string url = server.Url + "/plaintext";
            if (warmup > 0) load.Execute(url, warmup);
            using var stopScraping = new CancellationTokenSource();
            var scraper = spec.Name.EndsWith("prometheus", StringComparison.Ordinal) ? Scrape(server.Url + "/metrics", stopScraping.Token) : Task.CompletedTask;
            double cpuBefore = ProcStatus.CpuSeconds(server.Pid);
            var result = load.Execute(url, seconds);
            double cpu = ProcStatus.CpuSeconds(server.Pid) - cpuBefore;
            stopScraping.Cancel();
            scraper.Wait(TimeSpan.FromSeconds(10));
            var stopped = server;
            server = null;
            stopped.Dispose(); // the child prints what its exporters were given as it exits
            if (stopped.StandardErrorTail().Split('\n').FirstOrDefault(l => l.StartsWith("EXPORTED ", StringComparison.Ordinal)) is { } exported)
                Console.WriteLine($"    {spec.Name}: {exported["EXPORTED ".Length..]}");
            return (result.RequestsPerSecond, result.Requests == 0 ? double.NaN : cpu * 1e6 / result.Requests, result.Error);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or AggregateException)
        {
            return (0, 0, ex.Message + (server is null ? "" : "\n" + server.StandardErrorTail()));
        }
        finally
        {
            server?.Dispose();
        }
    }

    /// <summary>A Prometheus server's job: one scrape a second (bounded by the token), each checked.</summary>
    private static async Task Scrape(string url, CancellationToken token)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        while (!token.IsCancellationRequested)
        {
            try
            {
                string text = await client.GetStringAsync(url, token);
                if (!text.Contains("http_server_request_duration_seconds_count", StringComparison.Ordinal))
                    throw new InvalidOperationException("the scrape has no request durations");
                await Task.Delay(1000, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Hidden subcommand <c>serve-meerkat-observed PORT --collect none|metrics|metrics+traces|prometheus [--threads N]</c>.</summary>
    public static int ServeMeerkat(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        string collect = options.Choice("collect", "none", MeerkatCollections);
        int threads = options.Int("threads", Environment.ProcessorCount, 1, 256);
        options.RejectUnknown();
        using var sdk = Collect(collect, [MeerkatTelemetry.MeterName], [MeerkatTelemetry.ActivitySourceName]);
        using var prometheus = collect == "prometheus" ? new PrometheusMetrics() : null;
        return MeerkatChildServer.Run(threads, port, "http", (manager, bindPort, listenOptions) =>
            manager.ListenHttp($"http://127.0.0.1:{bindPort}", (c, e) =>
            {
                if (e.Kind != EventKind.HttpMessage) return;
                if (e.Request!.PathIs("/plaintext"u8)) c.Reply(200, "Hello, World!"u8, "text/plain");
                else if (prometheus is not null && e.Request!.PathIs("/metrics"u8)) prometheus.Reply(c);
                else c.Reply(404, "not found"u8, "text/plain");
            }, null, listenOptions), WaitForStdinEof);
    }

    /// <summary>Hidden subcommand <c>serve-kestrel-observed PORT --collect none|metrics|metrics+traces</c>:
    /// <c>app.Run</c> writing the bytes, as <c>serve-kestrel --style raw</c>.</summary>
    public static int ServeKestrel(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        string collect = options.Choice("collect", "none", KestrelCollections);
        options.RejectUnknown();
        // As an ASP.NET Core application is observed: the framework's own meters, and its spans through
        // the AspNetCore instrumentation (which gives them the semantic conventions' attributes, as
        // Meerkat's spans have).
        using var sdk = Collect(collect, ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"], [],
            tracing => tracing.AddAspNetCoreInstrumentation());

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Run(static context =>
        {
            var response = context.Response;
            if (!context.Request.Path.Equals("/plaintext", StringComparison.Ordinal))
            {
                response.StatusCode = 404;
                return Task.CompletedTask;
            }
            response.StatusCode = 200;
            response.ContentType = "text/plain";
            response.ContentLength = Payload.Length;
            return response.Body.WriteAsync(Payload, 0, Payload.Length);
        });
        app.StartAsync().GetAwaiter().GetResult();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine($"LISTENING {address.TrimEnd('/')}");
        Console.Out.Flush();
        var eof = Task.Factory.StartNew(WaitForStdinEof, TaskCreationOptions.LongRunning);
        Task.WaitAny(eof, Task.Delay(Timeout.Infinite, app.Lifetime.ApplicationStopping));
        app.StopAsync().Wait(TimeSpan.FromSeconds(5));
        return 0;
    }

    /// <summary>The OpenTelemetry SDK as an application would set it up, exporting to nowhere: metrics
    /// read every second by a periodic reader, spans always sampled and batched.</summary>
    private static SdkProviders Collect(string collect, string[] meters, string[] sources, Action<TracerProviderBuilder>? instrument = null)
    {
        if (collect is not ("metrics" or "metrics+traces")) return new SdkProviders(null, null);
        var meterProvider = Sdk.CreateMeterProviderBuilder().AddMeter(meters)
            .AddReader(new PeriodicExportingMetricReader(new DiscardMetrics(), exportIntervalMilliseconds: 1000))
            .Build();
        var tracerProvider = collect == "metrics+traces"
            ? Traces(sources, instrument)
            : null;
        return new SdkProviders(meterProvider, tracerProvider);
    }

    private static TracerProvider Traces(string[] sources, Action<TracerProviderBuilder>? instrument)
    {
        var builder = Sdk.CreateTracerProviderBuilder().AddSource(sources).SetSampler(new AlwaysOnSampler())
            .AddProcessor(new BatchActivityExportProcessor(new DiscardSpans()));
        instrument?.Invoke(builder);
        return builder.Build();
    }

    private sealed record SdkProviders(MeterProvider? Meters, TracerProvider? Tracer) : IDisposable
    {
        public void Dispose()
        {
            Tracer?.Dispose();
            Meters?.Dispose();
            if (Meters is not null) Console.Error.WriteLine($"EXPORTED {exportedMetricPoints} metric points, {exportedSpans} spans");
        }
    }

    /// <summary>What the exporters were given, printed to stderr at exit (proof that the collection ran).</summary>
    private static long exportedMetricPoints, exportedSpans;

    private sealed class DiscardMetrics : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch)
        {
            foreach (var metric in batch)
                foreach (ref readonly var point in metric.GetMetricPoints()) Interlocked.Increment(ref exportedMetricPoints);
            return ExportResult.Success;
        }
    }

    private sealed class DiscardSpans : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            Interlocked.Add(ref exportedSpans, batch.Count);
            return ExportResult.Success;
        }
    }
}
