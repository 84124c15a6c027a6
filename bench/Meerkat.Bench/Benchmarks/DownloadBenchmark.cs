using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Meerkat.Bench.Harness;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>download</c>: one large file (default 1 GiB, sparse) served by nginx (started here as a child,
/// <c>daemon off; master_process off</c>, on a free 127.0.0.1 port), fetched to a file by
/// <c>meerkat get URL -o FILE</c> (the Release CLI) and by <c>curl -s -o FILE URL</c>, each under
/// <c>/usr/bin/time -v</c> for its peak RSS and CPU time. Downloaded files are deleted after each run.
/// </summary>
public static partial class DownloadBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(BenchArgs args)
    {
        int sizeMib = args.Int("size-mib", 1024, 1, 16 * 1024);
        int rounds = args.Int("rounds", 1, 1, 10);
        string outRoot = args.Text("out-dir", Path.GetTempPath());
        string? meerkatCli = args.Text("meerkat", "") is { Length: > 0 } given ? given : DefaultCliPath();
        args.RejectUnknown();
        CultureInfo.CurrentCulture = Invariant;

        string? nginx = PlaintextBenchmark.FindOnPath("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
        string? curl = PlaintextBenchmark.FindOnPath("curl");
        string? time = File.Exists("/usr/bin/time") ? "/usr/bin/time" : null;
        if (nginx is null) { Console.WriteLine("nginx not found: `sudo apt-get install nginx`; skipping the download benchmark"); return 0; }
        if (curl is null) { Console.WriteLine("curl not found: `sudo apt-get install curl`; skipping the download benchmark"); return 0; }
        if (time is null) { Console.WriteLine("/usr/bin/time not found: `sudo apt-get install time`; skipping the download benchmark"); return 0; }
        if (meerkatCli is null || !File.Exists(meerkatCli))
        {
            Console.WriteLine($"Meerkat CLI not found at '{meerkatCli}': build it with `dotnet build -c Release src/Meerkat.Cli` (or pass --meerkat PATH)");
            return 1;
        }

        Report.Machine();
        long size = sizeMib * 1024L * 1024;
        var work = Directory.CreateTempSubdirectory("meerkat-bench-download-");
        var outDir = Directory.CreateDirectory(Path.Combine(outRoot, $"meerkat-bench-download-out-{Environment.ProcessId}"));
        Process? server = null;
        var results = new List<Fetched>();
        try
        {
            string root = Directory.CreateDirectory(Path.Combine(work.FullName, "www")).FullName;
            using (var file = File.Create(Path.Combine(root, "big.bin"))) file.SetLength(size); // sparse: reads as zeros
            int port = FreePort();
            string conf = Path.Combine(work.FullName, "nginx.conf");
            File.WriteAllText(conf, $$"""
                daemon off;
                master_process off;
                worker_processes 1;
                error_log stderr;
                pid {{work.FullName}}/nginx.pid;
                events {}
                http {
                    access_log off;
                    sendfile on;
                    client_body_temp_path {{work.FullName}}/client_body;
                    proxy_temp_path {{work.FullName}}/proxy;
                    fastcgi_temp_path {{work.FullName}}/fastcgi;
                    uwsgi_temp_path {{work.FullName}}/uwsgi;
                    scgi_temp_path {{work.FullName}}/scgi;
                    server { listen 127.0.0.1:{{port}}; root {{root}}; }
                }
                """);
            var info = new ProcessStartInfo(nginx) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-e", "stderr", "-p", work.FullName, "-c", conf }) info.ArgumentList.Add(a);
            server = Process.Start(info) ?? throw new InvalidOperationException("could not start nginx");
            var nginxErr = server.StandardError.ReadToEndAsync();
            _ = server.StandardOutput.ReadToEndAsync();
            WaitForPort(port, server, nginxErr);
            string url = $"http://127.0.0.1:{port}/big.bin";

            Console.WriteLine($"download: {sizeMib} MiB sparse file served by nginx (pid {server.Id}, {url}, sendfile on, 1 worker, no master)");
            Console.WriteLine($"  output dir: {outDir.FullName} (files deleted after each run)");
            Console.WriteLine($"  curl:    {time} -v {curl} -s -o FILE {url}");
            Console.WriteLine($"  meerkat: {time} -v {meerkatCli} get {url} -o FILE");
            Console.WriteLine($"  {rounds} round(s); each round runs curl then meerkat");
            Console.WriteLine();

            for (int round = 1; round <= rounds; round++)
            {
                foreach (var (name, tool, arguments) in new (string, string, Func<string, string[]>)[]
                {
                    ("curl", curl, f => ["-s", "-o", f, url]),
                    ("meerkat get", meerkatCli, f => ["get", url, "-o", f]),
                })
                {
                    string output = Path.Combine(outDir.FullName, $"{name.Replace(' ', '-')}-{round}.bin");
                    var r = Fetch(time, tool, arguments(output), output, size) with { Client = name, Round = round };
                    results.Add(r);
                    Console.WriteLine($"round {round}, {name}: {r.MegabytesPerSecond:N0} MB/s ({r.Seconds:F2} s), peak RSS {r.MaxRssKb / 1024.0:F1} MiB, " +
                        $"CPU user {r.UserSeconds:F2} s + sys {r.SystemSeconds:F2} s, exit {r.ExitCode}" + (r.Error is null ? "" : $", ERROR: {r.Error}"));
                }
            }
        }
        finally
        {
            if (server is not null)
            {
                try { if (!server.HasExited) { server.Kill(); server.WaitForExit(5000); } } catch (InvalidOperationException) { }
                server.Dispose();
            }
            try { outDir.Delete(true); } catch (IOException) { }
            try { work.Delete(true); } catch (IOException) { }
        }

        Console.WriteLine();
        Console.WriteLine("MB = 10^6 bytes; time = wall clock of the client process from start to exit (includes process start-up).");
        Console.WriteLine();
        Console.WriteLine("| round | curl MB/s | meerkat get MB/s | meerkat/curl | curl peak RSS | meerkat peak RSS | curl CPU s (user+sys) | meerkat CPU s (user+sys) |");
        Console.WriteLine("|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var group in results.GroupBy(r => r.Round))
        {
            var c = group.First(r => r.Client == "curl");
            var m = group.First(r => r.Client == "meerkat get");
            string Cell(Fetched r, string v) => r.Error is null ? v : "error";
            Console.WriteLine($"| {group.Key} | {Cell(c, c.MegabytesPerSecond.ToString("N0"))} | {Cell(m, m.MegabytesPerSecond.ToString("N0"))} | " +
                $"{(c.Error is null && m.Error is null ? (m.MegabytesPerSecond / c.MegabytesPerSecond).ToString("F2") + "x" : "-")} | " +
                $"{c.MaxRssKb / 1024.0:F1} MiB | {m.MaxRssKb / 1024.0:F1} MiB | {c.UserSeconds:F2} + {c.SystemSeconds:F2} | {m.UserSeconds:F2} + {m.SystemSeconds:F2} |");
        }
        return results.Any(r => r.Error is not null) ? 1 : 0;
    }

    private sealed record Fetched(double Seconds, long Bytes, long MaxRssKb, double UserSeconds, double SystemSeconds, int ExitCode, string? Error)
    {
        public string Client { get; init; } = "";
        public int Round { get; init; }
        public double MegabytesPerSecond => Bytes / Seconds / 1e6;
    }

    /// <summary>Runs <c>time -v tool args</c>, bounded to 180 s; checks the file's size; deletes it.</summary>
    private static Fetched Fetch(string time, string tool, string[] arguments, string output, long expected)
    {
        var info = new ProcessStartInfo(time) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-v");
        info.ArgumentList.Add(tool);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {time}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(180)))
        {
            process.Kill(entireProcessTree: true); // `time` (our child) and the client it started
            process.WaitForExit(5000);
            File.Delete(output);
            return new Fetched(clock.Elapsed.TotalSeconds, 0, 0, 0, 0, -1, "did not finish within 180 s (killed)");
        }
        double seconds = clock.Elapsed.TotalSeconds; // includes the client's start-up (and the ~1 ms of `time`)
        process.WaitForExit(); // drain the redirected streams
        string report = stderr.Result;
        long bytes = File.Exists(output) ? new FileInfo(output).Length : 0;
        File.Delete(output);
        foreach (var part in Directory.GetFiles(Path.GetDirectoryName(output)!, Path.GetFileName(output) + ".part*")) File.Delete(part);
        long rss = TimeRss().Match(report) is { Success: true } r ? long.Parse(r.Groups[1].Value, Invariant) : 0;
        double user = TimeUser().Match(report) is { Success: true } u ? double.Parse(u.Groups[1].Value, Invariant) : 0;
        double sys = TimeSys().Match(report) is { Success: true } s ? double.Parse(s.Groups[1].Value, Invariant) : 0;
        string? error = null;
        if (process.ExitCode != 0) error = $"exit code {process.ExitCode}: {stdout.Result}{report.Split("\tCommand being timed")[0]}";
        else if (bytes != expected) error = $"file has {bytes} bytes, expected {expected}";
        return new Fetched(seconds, bytes, rss, user, sys, process.ExitCode, error);
    }

    private static string? DefaultCliPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "src", "Meerkat.Cli")))
                return Path.Combine(dir.FullName, "src", "Meerkat.Cli", "bin", "Release", "net10.0", "Meerkat.Cli");
        return null;
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static void WaitForPort(int port, Process server, Task<string> serverErr)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (server.HasExited) throw new InvalidOperationException($"nginx exited with {server.ExitCode}: {serverErr.Result}");
            try
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new TimeoutException($"nginx did not listen on 127.0.0.1:{port} within 10 s");
    }

    [GeneratedRegex(@"Maximum resident set size \(kbytes\): (\d+)")] private static partial Regex TimeRss();
    [GeneratedRegex(@"User time \(seconds\): ([0-9.]+)")] private static partial Regex TimeUser();
    [GeneratedRegex(@"System time \(seconds\): ([0-9.]+)")] private static partial Regex TimeSys();
}
