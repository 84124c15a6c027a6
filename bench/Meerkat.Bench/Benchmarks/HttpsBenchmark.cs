using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Meerkat.Bench.Harness;
using Meerkat.Tls;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>https</c>: <c>GET /plaintext</c> over TLS, Meerkat (<c>ListenHttp("https://...")</c> with
/// <see cref="TlsServerOptions.FromPemFiles"/>) vs. Kestrel (<c>UseHttps</c>), each in its own child
/// process (the plaintext benchmark's <c>serve-meerkat</c> / <c>serve-kestrel</c> with
/// <c>--cert/--key</c>), both loading the same self-signed ECDSA P-256 certificate from temp PEM files.
/// Loads, both <c>wrk</c>: keep-alive (<c>-t2 -c64</c>), and one request per connection
/// (<c>-H "Connection: close"</c>: the server closes after each response and wrk reconnects, so
/// every request pays a full TLS handshake; wrk does not resume sessions) — its req/s is the
/// handshake rate.
/// </summary>
public static class HttpsBenchmark
{
    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        string serverChoice = args.Choice("server", "all", "all", "meerkat", "kestrel");
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

        if (PlaintextBenchmark.FindOnPath("wrk") is not { } wrk)
        {
            Console.WriteLine("wrk not found on PATH: `sudo apt-get install wrk`; skipping the https benchmark");
            return 0;
        }
        string Str(double v) => PlaintextBenchmark.Str(v);
        var loads = new List<PlaintextBenchmark.LoadTool>
        {
            new("wrk keep-alive", wrk, (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", url], PlaintextBenchmark.ParseWrk),
            new("wrk Connection: close (1 handshake/request)", wrk,
                (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", "-H", "Connection: close", url], PlaintextBenchmark.ParseWrk),
        };

        Report.Machine();
        var work = Directory.CreateTempSubdirectory("meerkat-bench-https-");
        var runs = new List<(string Server, string Load, PlaintextBenchmark.ToolResult Result, double Cpu, PlaintextBenchmark.MemoryStatus Memory)>();
        try
        {
            // One certificate for both servers, as PEM files (what an operator would hand each server).
            string certPath = Path.Combine(work.FullName, "cert.pem"), keyPath = Path.Combine(work.FullName, "key.pem");
            using (var certificate = TlsCertificates.CreateSelfSigned())
            {
                File.WriteAllText(certPath, certificate.ExportCertificatePem());
                using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("no ECDSA key");
                File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
                Console.WriteLine($"certificate: self-signed ECDSA P-256 (localhost, 127.0.0.1, ::1), SHA-256 {TlsCertificates.Fingerprint(certificate)}");
            }

            string meerkatName = $"Meerkat ({threads} loop{(threads == 1 ? "" : "s")}{(threads > 1 ? ", ReusePort" : "")})";
            const string KestrelName = "Kestrel (raw app.Run, UseHttps)";
            var servers = new List<PlaintextBenchmark.ServerSpec>();
            if (serverChoice is "all" or "meerkat")
                servers.Add(new(meerkatName, "serve-meerkat", ["--threads", Str(threads), "--cert", certPath, "--key", keyPath]));
            if (serverChoice is "all" or "kestrel")
                servers.Add(new(KestrelName, "serve-kestrel", ["--style", "raw", "--cert", certPath, "--key", keyPath]));

            Console.WriteLine($"https: GET /plaintext over TLS on 127.0.0.1, {connections} connections, {loadThreads} wrk threads, " +
                $"warm-up {Str(warmup)} s + measure {Str(seconds)} s per load; servers in child processes, one after the other");
            foreach (var load in loads) Console.WriteLine($"  load: {load.Name}: wrk {string.Join(' ', load.Arguments("URL", seconds))}");
            Console.WriteLine();

            foreach (var spec in servers)
            {
                PlaintextBenchmark.ServerProcess? server = null;
                try
                {
                    server = PlaintextBenchmark.ServerProcess.Start(spec);
                    Console.WriteLine($"{spec.Name}: pid {server.Pid}, {server.Url}; idle VmRSS {PlaintextBenchmark.Mib(PlaintextBenchmark.ProcStatus.Read(server.Pid).RssKb)}");
                    foreach (var load in loads)
                    {
                        string url = server.Url + "/plaintext";
                        if (warmup > 0 && load.Execute(url, warmup) is { Error: { } werr }) Console.WriteLine($"  warm-up {load.Name}: {werr}");
                        double cpu0 = PlaintextBenchmark.ProcStatus.CpuSeconds(server.Pid);
                        var result = load.Execute(url, seconds);
                        double cpu = PlaintextBenchmark.ProcStatus.CpuSeconds(server.Pid) - cpu0;
                        var mem = PlaintextBenchmark.ProcStatus.Read(server.Pid);
                        runs.Add((spec.Name, load.Name, result, cpu, mem));
                        Console.WriteLine($"  {load.Name}: {result.RequestsPerSecond:N0} req/s, {result.Requests:N0} requests, server CPU " +
                            $"{(result.Requests > 0 ? cpu * 1e6 / result.Requests : double.NaN):F1} µs/req ({cpu / Math.Max(result.Seconds, 1e-9) * 100:F0} % of a core), " +
                            $"VmRSS {PlaintextBenchmark.Mib(mem.RssKb)}, VmHWM {PlaintextBenchmark.Mib(mem.HwmKb)}" + (result.Error is null ? "" : $", ERROR: {result.Error}"));
                        if (result.Error is not null) Console.WriteLine(result.Output);
                    }
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or System.ComponentModel.Win32Exception)
                {
                    Console.WriteLine($"{spec.Name}: FAILED: {ex.Message}");
                    if (server is not null) Console.WriteLine(server.StandardErrorTail());
                    runs.Add((spec.Name, "(server)", new PlaintextBenchmark.ToolResult(0, 0, 1, ex.Message, ""), 0, default));
                }
                finally
                {
                    server?.Dispose();
                }
                Console.WriteLine();
            }

            Console.WriteLine("| load | Meerkat req/s | Kestrel req/s | Meerkat/Kestrel | Meerkat CPU µs/req | Kestrel CPU µs/req | Meerkat RSS (peak) | Kestrel RSS (peak) |");
            Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var load in loads)
            {
                var m = runs.FirstOrDefault(r => r.Server == meerkatName && r.Load == load.Name);
                var k = runs.FirstOrDefault(r => r.Server == KestrelName && r.Load == load.Name);
                string Rps(PlaintextBenchmark.ToolResult? r) => r is null ? "-" : r.Error is null ? r.RequestsPerSecond.ToString("N0") : "error";
                string Cpu(double cpu, PlaintextBenchmark.ToolResult? r) => r is null || r.Requests == 0 ? "-" : (cpu * 1e6 / r.Requests).ToString("F1");
                string Rss(PlaintextBenchmark.MemoryStatus mem) => $"{PlaintextBenchmark.Mib(mem.RssKb)} ({PlaintextBenchmark.Mib(mem.HwmKb)})";
                string ratio = m.Result is { Error: null } && k.Result is { Error: null } ? (m.Result.RequestsPerSecond / k.Result.RequestsPerSecond).ToString("F2") + "x" : "-";
                Console.WriteLine($"| {load.Name} | {Rps(m.Result)} | {Rps(k.Result)} | {ratio} | {Cpu(m.Cpu, m.Result)} | {Cpu(k.Cpu, k.Result)} | {Rss(m.Memory)} | {Rss(k.Memory)} |");
            }
        }
        finally
        {
            try { work.Delete(true); } catch (IOException) { }
        }
        return runs.Any(r => r.Result.Error is not null) ? 1 : 0;
    }
}
