using System.Globalization;
using Meerkat.Bench.Harness;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>native</c>: the native meerkat against meerkat on the JIT and against Kestrel, as a user runs
/// them: the size on disk, the time from start to the first answered request, RSS when idle and
/// after a keep-alive load (wrk). Meerkat runs <c>demo --threads 1 --quiet</c>; Kestrel is the
/// benchmark's own minimal server (<c>serve-kestrel</c>). Target: native RSS after load at most 0.4x Kestrel's.
/// </summary>
public static class NativeBenchmark
{
    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        int connections = args.Int("connections", 64, 1, 1024);
        int starts = args.Int("starts", 5, 1, 100);
        string? native = Programs.NativeMeerkat(args.Text("native", ""));
        string? jit = Programs.JitMeerkat(args.Text("jit", ""));
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Report.Machine();
        string? wrk = PlaintextBenchmark.FindOnPath("wrk");
        if (wrk is null) Console.WriteLine("wrk not found (`apt-get install wrk`): no RSS after load");

        var servers = new List<(string Name, string Size, Func<ServerChild> Start)>();
        if (native is not null)
            servers.Add(("meerkat (native)", $"{Programs.Mib(new FileInfo(native).Length)}, one file", () => ServerChild.Start(native, Demo)));
        else Console.WriteLine("no native meerkat: `dotnet publish src/Meerkat.Cli -c Release -r linux-x64` (or --native PATH)");
        if (jit is not null)
        {
            long size = new[] { "Meerkat.Cli.dll", "Meerkat.dll", "System.CommandLine.dll" }.Sum(f => new FileInfo(Path.Combine(Path.GetDirectoryName(jit)!, f)).Length);
            servers.Add(("meerkat (JIT)", $"{Programs.Mib(size)} + the .NET runtime", () => ServerChild.Start(Programs.Dotnet, port => [jit, .. Demo(port)])));
        }
        else Console.WriteLine("no Release Meerkat.Cli.dll: `dotnet build -c Release src/Meerkat.Cli` (or --jit PATH)");
        var (bench, benchArguments) = Programs.Bench("serve-kestrel");
        servers.Add(("Kestrel (JIT)", "ASP.NET Core + the .NET runtime", () => ServerChild.Start(bench, port => [.. benchArguments, $"{port}"])));

        Console.WriteLine($"native: {starts} starts each (median time to the first answered GET /plaintext), then wrk -c {connections} for {seconds} s");
        Console.WriteLine();
        var rows = new List<string>();
        foreach (var (name, size, start) in servers)
        {
            try
            {
                var times = new List<double>();
                for (int i = 0; i < starts - 1; i++)
                {
                    using var once = start();
                    times.Add(once.TimeToFirstResponse.TotalMilliseconds);
                }
                using var server = start();
                times.Add(server.TimeToFirstResponse.TotalMilliseconds);
                times.Sort();
                double startup = times[times.Count / 2];
                var idle = server.Memory();
                string loaded = "-", rate = "-";
                if (wrk is not null)
                {
                    var load = new PlaintextBenchmark.LoadTool("wrk", wrk, (url, s) => ["-t", "2", "-c", $"{connections}", "-d", $"{s}s", url], PlaintextBenchmark.ParseWrk);
                    var result = load.Execute(server.Url + "/plaintext", seconds);
                    var after = server.Memory();
                    loaded = $"{after.RssKb / 1024.0:F1} MiB (peak {after.HwmKb / 1024.0:F1})";
                    rate = result.Error is null ? $"{result.RequestsPerSecond:N0}" : $"error: {result.Error}";
                }
                Console.WriteLine($"{name}: first answer after {startup:F0} ms (median of {starts}), idle RSS {idle.RssKb / 1024.0:F1} MiB, after load {loaded}, {rate} req/s");
                rows.Add($"| {name} | {size} | {startup:F0} ms | {idle.RssKb / 1024.0:F1} MiB | {loaded} | {rate} |");
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.Net.Sockets.SocketException or IOException)
            {
                Console.WriteLine($"{name}: FAILED: {ex.Message}");
                rows.Add($"| {name} | {size} | error | | | |");
            }
        }
        Console.WriteLine();
        Console.WriteLine("| program | on disk | start to first answer | idle RSS | RSS after keep-alive load | req/s |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|");
        foreach (var row in rows) Console.WriteLine(row);
        return 0;
    }

    private static IEnumerable<string> Demo(int port) => ["demo", "--listen", $"http://127.0.0.1:{port}", "--threads", "1", "--quiet"];
}
