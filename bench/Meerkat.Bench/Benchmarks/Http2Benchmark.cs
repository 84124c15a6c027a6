using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Meerkat.Bench.Harness;
using Meerkat.Tls;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>http2</c>: <c>GET /plaintext</c> over HTTP/2, Meerkat vs. Kestrel (and nghttpd, Debian
/// <c>nghttp2-server</c>, as the C anchor when installed), each server in its own child process one
/// after the other, loaded by <c>h2load -c 64 -m 16</c> (64 connections, 16 streams in flight on
/// each): over h2c with prior knowledge (Meerkat detects the preface beside HTTP/1.1; Kestrel's
/// endpoint is HTTP/2-only, since it speaks h2c only so) and over TLS with h2 chosen by ALPN
/// (both servers load the same self-signed ECDSA P-256 certificate from temp PEM files).
/// </summary>
public static class Http2Benchmark
{
    private sealed record Measured(string Server, string Load, PlaintextBenchmark.ToolResult Result, double Cpu, PlaintextBenchmark.MemoryStatus Memory, long BaselineKb = 0);

    // Connections of the load, for the memory per connection (the peak RSS under load less the RSS before it).
    private static int loadConnections = 1;

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int streams = args.Int("streams", 16, 1, 256);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        loadConnections = connections;
        if (PlaintextBenchmark.FindOnPath("h2load") is not { } h2load)
        {
            Console.WriteLine("h2load not found on PATH: `sudo apt-get install nghttp2-client`; skipping the http2 benchmark");
            return 0;
        }

        string Str(double v) => PlaintextBenchmark.Str(v);
        var load = new PlaintextBenchmark.LoadTool($"h2load -c {connections} -m {streams}", h2load,
            (url, s) => ["-c", Str(connections), "-m", Str(streams), "-t", Str(loadThreads), "-D", Str(s), url], PlaintextBenchmark.ParseH2load);
        Report.Machine();
        var work = Directory.CreateTempSubdirectory("meerkat-bench-http2-");
        var runs = new List<Measured>();
        try
        {
            string certPath = Path.Combine(work.FullName, "cert.pem"), keyPath = Path.Combine(work.FullName, "key.pem");
            using (var certificate = TlsCertificates.CreateSelfSigned())
            {
                File.WriteAllText(certPath, certificate.ExportCertificatePem());
                using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("no ECDSA key");
                File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            }

            string meerkat = $"Meerkat ({threads} loop{(threads == 1 ? "" : "s")})";
            const string Kestrel = "Kestrel (raw app.Run)";
            var servers = new List<(string Transport, PlaintextBenchmark.ServerSpec Spec)>
            {
                ("h2c", new(meerkat, "serve-meerkat", ["--threads", Str(threads)])),
                ("h2c", new(Kestrel, "serve-kestrel", ["--style", "raw", "--protocols", "h2"])),
                ("h2 (TLS)", new(meerkat, "serve-meerkat", ["--threads", Str(threads), "--cert", certPath, "--key", keyPath])),
                ("h2 (TLS)", new(Kestrel, "serve-kestrel", ["--style", "raw", "--cert", certPath, "--key", keyPath])),
            };

            Console.WriteLine($"http2: GET /plaintext on 127.0.0.1, h2load {string.Join(' ', load.Arguments("URL", seconds))}, " +
                $"warm-up {Str(warmup)} s + measure {Str(seconds)} s; servers in child processes, one after the other");
            Console.WriteLine();
            foreach (var (transport, spec) in servers) runs.Add(Measure(spec, transport, load, warmup, seconds));
            if (PlaintextBenchmark.FindOnPath("nghttpd") is { } nghttpd)
            {
                runs.Add(MeasureNghttpd(nghttpd, "h2c", [], load, warmup, seconds, work.FullName));
                runs.Add(MeasureNghttpd(nghttpd, "h2 (TLS)", [keyPath, certPath], load, warmup, seconds, work.FullName));
            }
            else
            {
                Console.WriteLine("nghttpd not found on PATH (`sudo apt-get install nghttp2-server`): no C anchor in this run");
            }

            Console.WriteLine();
            Console.WriteLine($"| transport | Meerkat req/s | Kestrel req/s | Meerkat/Kestrel | nghttpd req/s | Meerkat CPU µs/req | Kestrel CPU µs/req | Meerkat RSS | Kestrel RSS | KiB per connection ({streams} streams), Meerkat / Kestrel / ratio |");
            Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var transport in new[] { "h2c", "h2 (TLS)" })
            {
                var m = runs.FirstOrDefault(r => r.Server == meerkat && r.Load == transport);
                var k = runs.FirstOrDefault(r => r.Server == Kestrel && r.Load == transport);
                var n = runs.FirstOrDefault(r => r.Server == "nghttpd" && r.Load == transport);
                string ratio = m?.Result is { Error: null } && k?.Result is { Error: null } ? (m.Result.RequestsPerSecond / k.Result.RequestsPerSecond).ToString("F2") + "x" : "-";
                string perConnection = PerConnection(m) is > 0 and var pm && PerConnection(k) is > 0 and var pk ? $"{pm:F0} / {pk:F0} / {pm / pk:F2}x" : "-";
                Console.WriteLine($"| {transport} | {Rps(m)} | {Rps(k)} | {ratio} | {Rps(n)} | {Cpu(m)} | {Cpu(k)} | {Rss(m)} | {Rss(k)} | {perConnection} |");
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }

        return runs.Any(r => r.Result.Error is not null) ? 1 : 0;
    }

    private static string Rps(Measured? r) => r is null ? "-" : r.Result.Error is null ? r.Result.RequestsPerSecond.ToString("N0") : "error";

    private static string Cpu(Measured? r) => r is null || r.Result.Requests == 0 ? "-" : (r.Cpu * 1e6 / r.Result.Requests).ToString("F1");

    /// <summary>KiB per connection: the peak RSS under load less the RSS before the load, over the load's connections.</summary>
    private static double PerConnection(Measured? r) => r is null || r.BaselineKb <= 0 ? 0 : (r.Memory.HwmKb - r.BaselineKb) / (double)loadConnections;

    private static string Rss(Measured? r) => r is null ? "-" : $"{PlaintextBenchmark.Mib(r.Memory.RssKb)} (peak {PlaintextBenchmark.Mib(r.Memory.HwmKb)})";

    private static Measured Measure(PlaintextBenchmark.ServerSpec spec, string transport, PlaintextBenchmark.LoadTool load, double warmup, double seconds)
    {
        PlaintextBenchmark.ServerProcess? server = null;
        try
        {
            server = PlaintextBenchmark.ServerProcess.Start(spec);
            string url = server.Url + "/plaintext";
            return Execute(spec.Name, transport, server.Pid, url, load, warmup, seconds);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            Console.WriteLine($"{spec.Name} {transport}: FAILED: {ex.Message}");
            if (server is not null) Console.WriteLine(server.StandardErrorTail());
            return new Measured(spec.Name, transport, new PlaintextBenchmark.ToolResult(0, 0, 1, ex.Message, ""), 0, default);
        }
        finally
        {
            server?.Dispose();
        }
    }

    /// <summary>nghttpd serving a file called <c>plaintext</c> (13 bytes) from a temp directory; killed by PID after.</summary>
    private static Measured MeasureNghttpd(string nghttpd, string transport, string[] keyAndCert, PlaintextBenchmark.LoadTool load, double warmup, double seconds, string work)
    {
        string root = Path.Combine(work, "nghttpd");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "plaintext"), "Hello, World!");
        int port = FreePort();
        var info = new System.Diagnostics.ProcessStartInfo(nghttpd) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-d", root, "--address=127.0.0.1", Str(port)]) info.ArgumentList.Add(a);
        if (keyAndCert.Length == 0) info.ArgumentList.Insert(0, "--no-tls");
        else foreach (var a in keyAndCert) info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("could not start nghttpd");
        try
        {
            WaitForPort(port);
            string url = $"{(keyAndCert.Length == 0 ? "http" : "https")}://127.0.0.1:{port}/plaintext";
            return Execute("nghttpd", transport, process.Id, url, load, warmup, seconds);
        }
        finally
        {
            if (!process.HasExited) process.Kill();
            process.WaitForExit(5000);
        }

        static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);
    }

    private static Measured Execute(string name, string transport, int pid, string url, PlaintextBenchmark.LoadTool load, double warmup, double seconds)
    {
        var baseline = PlaintextBenchmark.ProcStatus.Read(pid);
        if (warmup > 0 && load.Execute(url, warmup) is { Error: { } werr }) Console.WriteLine($"  warm-up {name} {transport}: {werr}");
        double cpu0 = PlaintextBenchmark.ProcStatus.CpuSeconds(pid);
        var result = load.Execute(url, seconds);
        double cpu = PlaintextBenchmark.ProcStatus.CpuSeconds(pid) - cpu0;
        var memory = PlaintextBenchmark.ProcStatus.Read(pid);
        Console.WriteLine($"{name} {transport}: {result.RequestsPerSecond:N0} req/s, {result.Requests:N0} requests, server CPU " +
            $"{(result.Requests > 0 ? cpu * 1e6 / result.Requests : double.NaN):F1} µs/req, VmRSS {PlaintextBenchmark.Mib(memory.RssKb)} " +
            $"(before the load {PlaintextBenchmark.Mib(baseline.RssKb)}, peak {PlaintextBenchmark.Mib(memory.HwmKb)})" +
            (result.Error is null ? "" : $", ERROR: {result.Error}"));
        if (result.Error is not null) Console.WriteLine(result.Output);
        return new Measured(name, transport, result, cpu, memory, baseline.RssKb);
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static void WaitForPort(int port)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                client.Connect(System.Net.IPAddress.Loopback, port);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < until)
            {
                Thread.Sleep(50); // polling a child's port, in a benchmark harness (not a test)
            }
        }
    }
}
