using System.Globalization;
using System.Net;
using Meerkat.Bench.Harness;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Meerkat.Bench.Benchmarks.PlaintextBenchmark;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>routing</c>: <c>GET /plaintext</c> with 50 routes registered, in three child processes run one
/// after the other under the same load: Meerkat's plain handler (no router, the baseline), Meerkat
/// with the <see cref="Router"/>, and Kestrel minimal APIs mapping the same 50 templates. The
/// ratios routed/plain (the router's cost; target within 5 %) and routed/Kestrel come from the
/// same run. Load: <c>wrk</c> keep-alive and <c>h2load --h1 -m 16</c> pipelined, as for <c>plaintext</c>.
/// </summary>
public static class RoutingBenchmark
{
    /// <summary>The 49 other routes (method, template): literals, captures, catch-alls, several methods
    /// per path, so that matching /plaintext is not a one-entry table. Both servers map these.</summary>
    internal static IReadOnlyList<(string Method, string Template)> OtherRoutes { get; } = BuildRoutes();

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int pipeline = args.Int("pipeline", 16, 1, 256);
        int threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        string loadChoice = args.Choice("load", "both", "both", "wrk", "h2load");
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

        Report.Machine();
        var loads = new List<LoadTool>();
        if (loadChoice is "both" or "wrk" && FindOnPath("wrk") is { } wrk)
            loads.Add(new LoadTool("wrk keep-alive", wrk, (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", url], ParseWrk));
        if (loadChoice is "both" or "h2load" && FindOnPath("h2load") is { } h2load)
            loads.Add(new LoadTool($"h2load pipelined -m {pipeline}", h2load,
                (url, s) => ["--h1", "-m", Str(pipeline), "-c", Str(connections), "-t", Str(loadThreads), "-D", Str(s), url], ParseH2load));
        if (loads.Count == 0)
        {
            Console.WriteLine("no load tool available: install them with `sudo apt-get install wrk nghttp2-client`");
            return 1;
        }

        string loops = $"{threads} loop{(threads == 1 ? "" : "s")}";
        ServerSpec[] servers =
        [
            new($"Meerkat plain handler ({loops})", "serve-meerkat", ["--threads", Str(threads)]),
            new($"Meerkat Router, 50 routes ({loops})", "serve-meerkat-routed", ["--threads", Str(threads)]),
            new("Kestrel minimal APIs, 50 routes", "serve-kestrel-routed", []),
        ];
        Console.WriteLine($"routing: GET /plaintext among {OtherRoutes.Count + 1} routes, {connections} connections, warm-up {Str(warmup)} s + {Str(seconds)} s per load");
        Console.WriteLine();

        var results = new Dictionary<(string Server, string Load), double>();
        foreach (var spec in servers)
        {
            using var server = ServerProcess.Start(spec);
            Console.WriteLine($"{spec.Name}: pid {server.Pid}; {server.Probe()}");
            foreach (var load in loads)
            {
                string url = server.Url + "/plaintext";
                if (warmup > 0) load.Execute(url, warmup);
                var result = load.Execute(url, seconds);
                Console.WriteLine($"  {load.Name}: {result.RequestsPerSecond:N0} req/s{(result.Error is null ? "" : $", ERROR: {result.Error}")}");
                results[(spec.Name, load.Name)] = result.Error is null ? result.RequestsPerSecond : double.NaN;
            }
        }

        Console.WriteLine();
        Console.WriteLine("| load | plain req/s | routed req/s | Kestrel routed req/s | routed / plain | routed / Kestrel |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|");
        foreach (var load in loads)
        {
            double plain = results[(servers[0].Name, load.Name)], routed = results[(servers[1].Name, load.Name)], kestrel = results[(servers[2].Name, load.Name)];
            Console.WriteLine($"| {load.Name} | {plain:N0} | {routed:N0} | {kestrel:N0} | {routed / plain:F3}x | {routed / kestrel:F2}x |");
        }
        return results.Values.Any(double.IsNaN) ? 1 : 0;
    }

    /// <summary>Hidden subcommand <c>serve-meerkat-routed PORT [--threads N]</c>: the router with the 50 routes.</summary>
    public static int ServeMeerkatRouted(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        int threads = options.Int("threads", Environment.ProcessorCount, 1, 256);
        options.RejectUnknown();
        var router = new Router();
        RouteHandler ok = static (c, e, route) => c.Reply(200, "ok"u8, "text/plain");
        foreach (var (method, template) in OtherRoutes) router.Map(method, template, ok);
        router.MapGet("/plaintext", static (c, e, route) => c.Reply(200, "Hello, World!"u8, "text/plain"));
        return MeerkatChildServer.Run(threads, port, "http", (manager, bindPort, listenOptions) =>
            manager.ListenHttp($"http://127.0.0.1:{bindPort}", router.Handle, null, listenOptions), WaitForStdinEof);
    }

    /// <summary>Hidden subcommand <c>serve-kestrel-routed PORT</c>: minimal APIs with the same 50 routes.</summary>
    public static int ServeKestrelRouted(string[] args)
    {
        int port = ParsePort(args);
        new BenchArgs(args[1..]).RejectUnknown();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        foreach (var (method, template) in OtherRoutes) app.MapMethods(template, [method], static () => Results.Text("ok"));
        app.MapGet("/plaintext", static () => Results.Text("Hello, World!"));
        app.StartAsync().GetAwaiter().GetResult();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine($"LISTENING {address.TrimEnd('/')}");
        Console.Out.Flush();
        var eof = Task.Factory.StartNew(WaitForStdinEof, TaskCreationOptions.LongRunning);
        Task.WaitAny(eof, Task.Delay(Timeout.Infinite, app.Lifetime.ApplicationStopping));
        app.StopAsync().Wait(TimeSpan.FromSeconds(5));
        return 0;
    }

    private static List<(string, string)> BuildRoutes()
    {
        var routes = new List<(string, string)>();
        for (int i = 0; i < 10; i++)
        {
            routes.Add(("GET", $"/api/v{i}/items"));
            routes.Add(("POST", $"/api/v{i}/items"));
            routes.Add(("GET", $"/api/v{i}/items/{{id}}"));
            routes.Add(("PUT", $"/api/v{i}/items/{{id}}"));
        }
        for (int i = 0; i < 6; i++) routes.Add(("GET", $"/static{i}/{{*path}}"));
        routes.Add(("GET", "/users/{user}/posts/{post}"));
        routes.Add(("GET", "/health"));
        routes.Add(("DELETE", "/api/v0/items/{id}"));
        return routes;
    }
}
