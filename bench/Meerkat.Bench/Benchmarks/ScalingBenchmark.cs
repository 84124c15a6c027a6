using System.Globalization;
using Meerkat.Bench.Harness;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>scaling</c>: keep-alive GET /plaintext (wrk) against Meerkat with 1 and 2 loops
/// (<see cref="ManagerGroup"/>), nginx with 1 and 2 workers, and Kestrel, in one run: the req/s
/// of each and the scaling ratio (2 loops / 1 loop; target: at least nginx's 2 workers / 1 worker).
/// </summary>
public static class ScalingBenchmark
{
    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 2, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Report.Machine();
        if (PlaintextBenchmark.FindOnPath("wrk") is not { } wrk)
        {
            Console.WriteLine("wrk not found: `apt-get install wrk`");
            return 1;
        }
        var load = new PlaintextBenchmark.LoadTool("wrk", wrk, (url, s) => ["-t", $"{loadThreads}", "-c", $"{connections}", "-d", $"{s}s", url], PlaintextBenchmark.ParseWrk);
        var (meerkat, meerkatArguments) = Programs.Bench("serve-meerkat");
        var (kestrel, kestrelArguments) = Programs.Bench("serve-kestrel");
        var servers = new List<(string Name, Func<DirectoryInfo, ServerChild> Start)>
        {
            ("Meerkat --threads 1", _ => ServerChild.Start(meerkat, port => [.. meerkatArguments, $"{port}", "--threads", "1"])),
            ("Meerkat --threads 2", _ => ServerChild.Start(meerkat, port => [.. meerkatArguments, $"{port}", "--threads", "2"])),
            ("Kestrel", _ => ServerChild.Start(kestrel, port => [.. kestrelArguments, $"{port}"])),
        };
        if (NginxChild.Find() is { } nginx)
        {
            servers.Add(("nginx 1 worker", work => NginxChild.Start(nginx, 1, work)));
            servers.Add(("nginx 2 workers", work => NginxChild.Start(nginx, 2, work)));
        }
        else Console.WriteLine("nginx not found (`apt-get install nginx`): no nginx rows");
        Console.WriteLine($"scaling: wrk -t {loadThreads} -c {connections}, warm-up {warmup} s + {seconds} s per server, one after the other (the load shares the cores)");
        Console.WriteLine();

        var rates = new Dictionary<string, double>();
        foreach (var (name, start) in servers)
        {
            var work = Directory.CreateTempSubdirectory("meerkat-bench-scaling-");
            try
            {
                using var server = start(work);
                if (warmup > 0) load.Execute(server.Url + "/plaintext", warmup);
                var result = load.Execute(server.Url + "/plaintext", seconds);
                rates[name] = result.Error is null ? result.RequestsPerSecond : 0;
                Console.WriteLine($"{name}: {result.RequestsPerSecond:N0} req/s{(result.Error is null ? "" : $", ERROR: {result.Error}")}");
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.Net.Sockets.SocketException or IOException)
            {
                Console.WriteLine($"{name}: FAILED: {ex.Message}");
            }
            finally
            {
                work.Delete(recursive: true);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| server | req/s | vs. Kestrel |");
        Console.WriteLine("|---|--:|--:|");
        double k = rates.GetValueOrDefault("Kestrel");
        foreach (var (name, rate) in rates) Console.WriteLine($"| {name} | {rate:N0} | {(k > 0 ? $"{rate / k:F2}x" : "-")} |");
        Console.WriteLine();
        string Ratio(string two, string one) => rates.GetValueOrDefault(one) is > 0 and var r1 && rates.GetValueOrDefault(two) is > 0 and var r2 ? $"{r2 / r1:F2}x" : "-";
        Console.WriteLine($"scaling 2/1: Meerkat {Ratio("Meerkat --threads 2", "Meerkat --threads 1")}, nginx {Ratio("nginx 2 workers", "nginx 1 worker")}");
        return 0;
    }
}
