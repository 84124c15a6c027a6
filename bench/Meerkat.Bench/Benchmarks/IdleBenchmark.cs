using System.Globalization;
using System.Net.Sockets;
using Meerkat.Bench.Harness;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>idle</c>: memory per idle keep-alive connection. Each server (Meerkat with one loop, Kestrel,
/// nginx with one worker; each a child process) gets N connections that each make one keep-alive
/// <c>GET /plaintext</c> and then stay open doing nothing; the server's RSS growth divided by N is
/// the cost of one idle connection (target: at most 2 KiB for Meerkat).
/// </summary>
public static class IdleBenchmark
{
    public static int Run(BenchArgs args)
    {
        int connections = args.Int("connections", 10_000, 100, 100_000);
        double settle = args.Double("settle", 2, 0, 60);
        string serverChoice = args.Choice("server", "all", "all", "meerkat", "kestrel", "nginx");
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Report.Machine();
        Console.WriteLine($"idle: {connections:N0} keep-alive connections per server, one GET /plaintext each, then idle; RSS read {settle} s later");
        Console.WriteLine("(the client sockets live in this process: raise `ulimit -n` above twice the count if needed)");
        Console.WriteLine();

        var servers = new List<(string Name, Func<DirectoryInfo, ServerChild> Start)>();
        if (serverChoice is "all" or "meerkat")
        {
            var (file, arguments) = Programs.Bench("serve-meerkat");
            servers.Add(("Meerkat (1 loop)", _ => ServerChild.Start(file, port => [.. arguments, $"{port}", "--threads", "1", "--max-connections", $"{connections + 100}"])));
        }
        if (serverChoice is "all" or "kestrel")
        {
            var (file, arguments) = Programs.Bench("serve-kestrel");
            servers.Add(("Kestrel", _ => ServerChild.Start(file, port => [.. arguments, $"{port}"])));
        }
        if (serverChoice is "all" or "nginx")
        {
            if (NginxChild.Find() is { } nginx) servers.Add(("nginx (1 worker)", work => NginxChild.Start(nginx, 1, work)));
            else Console.WriteLine("nginx not found: `apt-get install nginx` to compare with it");
        }

        var rows = new List<(string Name, long Before, long After, double PerConnection, string? Error)>();
        foreach (var (name, start) in servers)
        {
            var work = Directory.CreateTempSubdirectory("meerkat-bench-idle-");
            var sockets = new List<Socket>(connections);
            try
            {
                using var server = start(work);
                for (int i = 0; i < 100; i++) server.OpenIdle().Dispose(); // warm-up: code paths and pools in use
                Thread.Sleep(TimeSpan.FromSeconds(settle));
                long before = server.Memory().RssKb;
                for (int i = 0; i < connections; i++) sockets.Add(server.OpenIdle());
                Thread.Sleep(TimeSpan.FromSeconds(settle));
                long after = server.Memory().RssKb;
                double perConnection = (after - before) * 1024.0 / connections;
                rows.Add((name, before, after, perConnection, null));
                Console.WriteLine($"{name}: RSS {before / 1024.0:F1} -> {after / 1024.0:F1} MiB with {connections:N0} idle connections: {perConnection / 1024:F2} KiB each");
            }
            catch (Exception ex) when (ex is InvalidOperationException or SocketException or TimeoutException or IOException)
            {
                rows.Add((name, 0, 0, 0, ex.Message));
                Console.WriteLine($"{name}: FAILED: {ex.Message}");
            }
            finally
            {
                foreach (var socket in sockets) socket.Dispose();
                work.Delete(recursive: true);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| server | idle connections | RSS before | RSS after | per idle connection | vs. Meerkat |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|");
        double meerkat = rows.FirstOrDefault(r => r.Name.StartsWith("Meerkat", StringComparison.Ordinal)).PerConnection;
        foreach (var r in rows)
        {
            if (r.Error is not null) { Console.WriteLine($"| {r.Name} | error: {r.Error} | | | | |"); continue; }
            string ratio = meerkat > 0 ? $"{r.PerConnection / meerkat:F2}x" : "-";
            Console.WriteLine($"| {r.Name} | {connections:N0} | {r.Before / 1024.0:F1} MiB | {r.After / 1024.0:F1} MiB | {r.PerConnection / 1024:F2} KiB | {ratio} |");
        }
        return rows.Any(r => r.Error is not null) ? 1 : 0;
    }
}
