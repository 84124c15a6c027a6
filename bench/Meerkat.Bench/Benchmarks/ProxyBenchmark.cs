using System.Diagnostics;
using System.Globalization;
using Meerkat.Bench.Harness;
using Meerkat.Http;
using Meerkat.Http.Routing;
using static Meerkat.Bench.Benchmarks.PlaintextBenchmark;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>proxy</c>: the reverse proxy (<see cref="RouteGroup.MapProxy"/>) against nginx <c>proxy_pass</c>
/// to the same upstream, in one run. The upstream is an nginx child (one worker) answering
/// <c>/plaintext</c> from its config and serving a sparse file (<c>--size-mib</c>, 1024) with sendfile.
/// Each proxy is a child with <c>--threads</c> loops or workers and keep-alive upstream connections
/// (nginx: <c>upstream { keepalive 64; }</c>, HTTP/1.1, buffering in memory only). Measured per proxy:
/// <c>wrk</c> keep-alive req/s on <c>/plaintext</c>, and the file fetched by <c>curl -o /dev/null</c>
/// (MB/s, and the proxy's peak RSS). Ratios are Meerkat / nginx.
/// </summary>
public static class ProxyBenchmark
{
    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int threads = args.Int("threads", 1, 1, 64);
        int sizeMib = args.Int("size-mib", 1024, 1, 16384);
        args.RejectUnknown();
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        string? nginx = NginxChild.Find(), wrk = FindOnPath("wrk"), curl = FindOnPath("curl");
        if (nginx is null || wrk is null || curl is null)
        {
            Console.WriteLine("the proxy benchmark needs nginx, wrk and curl: `sudo apt-get install nginx wrk curl`");
            return 1;
        }
        Report.Machine();
        var work = Directory.CreateTempSubdirectory("meerkat-bench-proxy-");
        try
        {
            using (var file = File.Create(Path.Combine(work.FullName, "big.bin"))) file.SetLength((long)sizeMib << 20); // sparse
            using var upstream = ServerChild.Start(nginx, port => NginxArgs(work, "upstream", port, 1, $$"""
                location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
                location / { root {{work.FullName}}; sendfile on; }
                """));
            Console.WriteLine($"proxy: upstream nginx (1 worker) at {upstream.Url}; {connections} connections, warm-up {Str(warmup)} s + {Str(seconds)} s; {sizeMib} MiB file by curl");
            var load = new LoadTool("wrk keep-alive", wrk, (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", url], ParseWrk);
            var rows = new List<(string Name, double Rps, double MBps, long HwmKb, string? Error)>();

            using (var meerkat = ServerProcess.Start(new ServerSpec($"Meerkat MapProxy ({threads} loop{(threads == 1 ? "" : "s")})", "serve-meerkat-proxy",
                ["--upstream", upstream.Url, "--threads", Str(threads)])))
                rows.Add(Measure($"Meerkat MapProxy ({threads} loop{(threads == 1 ? "" : "s")})", meerkat.Url, meerkat.Pid, load, curl, warmup, seconds));
            using (var proxy = ServerChild.Start(nginx, port => NginxArgs(work, "proxy", port, threads, $$"""
                location / {
                    proxy_pass http://backend;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_max_temp_file_size 0;
                }
                """, $"upstream backend {{ server 127.0.0.1:{upstream.Port}; keepalive 64; }}")))
                rows.Add(Measure($"nginx proxy_pass ({threads} worker{(threads == 1 ? "" : "s")})", proxy.Url, proxy.Pid, load, curl, warmup, seconds));

            Console.WriteLine();
            Console.WriteLine($"| proxy | /plaintext req/s | {sizeMib} MiB MB/s | proxy peak RSS | errors |");
            Console.WriteLine("|---|--:|--:|--:|---|");
            foreach (var r in rows) Console.WriteLine($"| {r.Name} | {r.Rps:N0} | {r.MBps:N0} | {Mib(r.HwmKb)} | {r.Error ?? "0"} |");
            Console.WriteLine($"| **Meerkat / nginx** | **{rows[0].Rps / rows[1].Rps:F2}x** | **{rows[0].MBps / rows[1].MBps:F2}x** | | |");
            return rows.Any(r => r.Error is not null) ? 1 : 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static (string, double, double, long, string?) Measure(string name, string url, int pid, LoadTool load, string curl, double warmup, double seconds)
    {
        Console.WriteLine($"{name}: pid {pid}, {url}");
        if (warmup > 0) load.Execute(url + "/plaintext", warmup);
        var result = load.Execute(url + "/plaintext", seconds);
        Console.WriteLine($"  wrk: {result.RequestsPerSecond:N0} req/s{(result.Error is null ? "" : $", ERROR: {result.Error}")}");
        var (mbps, error) = Download(curl, url + "/big.bin");
        long hwm = ProcStatus.Read(pid).HwmKb;
        Console.WriteLine($"  curl: {mbps:N0} MB/s{(error is null ? "" : $", ERROR: {error}")}, peak RSS {Mib(hwm)}");
        return (name, result.Error is null ? result.RequestsPerSecond : double.NaN, mbps, hwm, result.Error ?? error);
    }

    /// <summary>curl's average download speed in MB/s (10^6 bytes), or an error.</summary>
    private static (double MBps, string? Error) Download(string curl, string url)
    {
        var info = new ProcessStartInfo(curl, ["-s", "-f", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill();
            return (double.NaN, "curl did not finish within 5 minutes");
        }
        var parts = output.Result.Split(' ');
        if (process.ExitCode != 0 || parts.Length != 2) return (double.NaN, $"curl exit {process.ExitCode}: {output.Result}");
        return (double.Parse(parts[0], CultureInfo.InvariantCulture) / 1e6, null);
    }

    private static string[] NginxArgs(DirectoryInfo work, string name, int port, int workers, string locations, string httpExtra = "")
    {
        string dir = Directory.CreateDirectory(Path.Combine(work.FullName, name)).FullName;
        string conf = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(conf, $$"""
            daemon off;
            master_process {{(workers > 1 ? "on" : "off")}};
            worker_processes {{workers}};
            error_log stderr;
            pid {{dir}}/nginx.pid;
            events { worker_connections 4096; }
            http {
                access_log off;
                keepalive_timeout 300s;
                keepalive_requests 10000000;
                client_body_temp_path {{dir}}/client_body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                {{httpExtra}}
                server {
                    listen 127.0.0.1:{{port}};
                    {{locations}}
                }
            }
            """);
        return ["-e", "stderr", "-p", dir, "-c", conf];
    }

    /// <summary>Hidden subcommand <c>serve-meerkat-proxy PORT --upstream URL [--threads N]</c>: every path
    /// forwarded to the upstream by <see cref="RouteGroup.MapProxy"/>.</summary>
    public static int ServeMeerkatProxy(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        int threads = options.Int("threads", 1, 1, 256);
        string upstream = options.Text("upstream", "");
        options.RejectUnknown();
        if (upstream.Length == 0) throw new ArgumentException("--upstream URL is required");
        var router = new Router();
        router.MapProxy("/", upstream);
        return MeerkatChildServer.Run(threads, port, "http", (manager, bindPort, listenOptions) =>
            manager.ListenHttp($"http://127.0.0.1:{bindPort}", router.Handle, null, listenOptions), WaitForStdinEof);
    }
}
