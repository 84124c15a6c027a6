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
/// (nginx: <c>upstream { keepalive 64; }</c>, HTTP/1.1, buffering in memory only, request bodies streamed).
/// Measured per proxy: <c>wrk</c> keep-alive req/s on <c>/plaintext</c>; the file fetched by
/// <c>curl -o /dev/null</c> once unmeasured (warm-up) then <c>--transfers</c> times, and uploaded as many
/// times to the upstream's <c>/sink</c> (which reads the whole body before answering): the median MB/s,
/// the proxy's CPU time per GiB (utime + stime of the whole process, the steadier figure on a shared
/// machine) and its peak RSS. Ratios are Meerkat / nginx.
/// </summary>
public static class ProxyBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int threads = args.Int("threads", 1, 1, 64);
        int sizeMib = args.Int("size-mib", 1024, 1, 16384);
        int transfers = args.Int("transfers", 3, 1, 20);
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
            string file = Path.Combine(work.FullName, "big.bin");
            using (var stream = File.Create(file)) stream.SetLength((long)sizeMib << 20); // sparse
            // /sink reads the whole request body (nginx buffers it, in memory then a temp file) before answering.
            using var upstream = ServerChild.Start(nginx, port => NginxArgs(work, "upstream", port, 1, $$"""
                location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
                location = /sink {
                    client_max_body_size 0;
                    client_body_buffer_size 1m;
                    proxy_pass http://127.0.0.1:{{port}}/plaintext;
                    proxy_method GET;
                    proxy_pass_request_body off;
                    proxy_set_header Content-Length "";
                }
                location / { root {{work.FullName}}; sendfile on; }
                """));
            Console.WriteLine($"proxy: upstream nginx (1 worker) at {upstream.Url}; {connections} connections, warm-up {Str(warmup)} s + {Str(seconds)} s; {sizeMib} MiB by curl, 1 + {transfers} times each way");
            var load = new LoadTool("wrk keep-alive", wrk, (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", url], ParseWrk);
            var rows = new List<Row>();
            var transfer = new Transfer(curl, file, sizeMib, transfers);

            using (var meerkat = ServerProcess.Start(new ServerSpec($"Meerkat MapProxy ({threads} loop{(threads == 1 ? "" : "s")})", "serve-meerkat-proxy",
                ["--upstream", upstream.Url, "--threads", Str(threads)])))
                rows.Add(Measure($"Meerkat MapProxy ({threads} loop{(threads == 1 ? "" : "s")})", meerkat.Url, meerkat.Pid, load, transfer, warmup, seconds));
            using (var proxy = ServerChild.Start(nginx, port => NginxArgs(work, "proxy", port, threads, $$"""
                location / {
                    proxy_pass http://backend;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_max_temp_file_size 0;
                    proxy_request_buffering off;
                    client_max_body_size 0;
                }
                """, $"upstream backend {{ server 127.0.0.1:{upstream.Port}; keepalive 64; }}")))
                rows.Add(Measure($"nginx proxy_pass ({threads} worker{(threads == 1 ? "" : "s")})", proxy.Url, proxy.Pid, load, transfer, warmup, seconds));

            Console.WriteLine();
            Console.WriteLine($"| proxy | /plaintext req/s | {sizeMib} MiB down MB/s | CPU s/GiB down | {sizeMib} MiB up MB/s | CPU s/GiB up | proxy peak RSS | errors |");
            Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|---|");
            foreach (var r in rows)
                Console.WriteLine($"| {r.Name} | {r.Rps:N0} | {r.Down.MBps:N0} | {r.Down.CpuPerGib:F2} | {r.Up.MBps:N0} | {r.Up.CpuPerGib:F2} | {Mib(r.HwmKb)} | {r.Error ?? "0"} |");
            var (m, n) = (rows[0], rows[1]);
            Console.WriteLine($"| **Meerkat / nginx** | **{m.Rps / n.Rps:F2}x** | **{m.Down.MBps / n.Down.MBps:F2}x** | **{m.Down.CpuPerGib / n.Down.CpuPerGib:F2}x** | " +
                $"**{m.Up.MBps / n.Up.MBps:F2}x** | **{m.Up.CpuPerGib / n.Up.CpuPerGib:F2}x** | | |");
            return rows.Any(r => r.Error is not null) ? 1 : 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private sealed record Row(string Name, double Rps, Moved Down, Moved Up, long HwmKb, string? Error);

    /// <summary>The median MB/s (10^6 bytes) of the measured transfers, and the proxy's CPU seconds per GiB over them.</summary>
    private sealed record Moved(double MBps, double CpuPerGib, string? Error);

    private static Row Measure(string name, string url, int pid, LoadTool load, Transfer transfer, double warmup, double seconds)
    {
        Console.WriteLine($"{name}: pid {pid}, {url}");
        if (warmup > 0) load.Execute(url + "/plaintext", warmup);
        var result = load.Execute(url + "/plaintext", seconds);
        Console.WriteLine($"  wrk: {result.RequestsPerSecond:N0} req/s{(result.Error is null ? "" : $", ERROR: {result.Error}")}");
        var down = transfer.Run(url + "/big.bin", pid, upload: false);
        var up = transfer.Run(url + "/sink", pid, upload: true);
        long hwm = ProcStatus.Read(pid).HwmKb;
        Console.WriteLine($"  peak RSS {Mib(hwm)}");
        return new Row(name, result.Error is null ? result.RequestsPerSecond : double.NaN, down, up, hwm, result.Error ?? down.Error ?? up.Error);
    }

    /// <summary>The large transfers by curl: one unmeasured (the JIT's tiering of the body path, as wrk's
    /// warm-up is for /plaintext), then <c>count</c> measured.</summary>
    private sealed class Transfer(string curl, string file, int sizeMib, int count)
    {
        public Moved Run(string url, int pid, bool upload)
        {
            string what = upload ? "up" : "down";
            var (_, warmError) = Once(url, upload);
            if (warmError is not null) return new(double.NaN, double.NaN, warmError);
            var speeds = new List<double>();
            double cpu = 0;
            for (int i = 0; i < count; i++)
            {
                double before = ProcStatus.CpuSeconds(pid);
                var (mbps, error) = Once(url, upload);
                cpu += ProcStatus.CpuSeconds(pid) - before;
                if (error is not null) return new(double.NaN, double.NaN, error);
                speeds.Add(mbps);
            }
            speeds.Sort();
            var moved = new Moved(speeds[speeds.Count / 2], cpu / count / (sizeMib / 1024.0), null);
            Console.WriteLine($"  curl {what}: {string.Join(", ", speeds.Select(v => v.ToString("N0", Invariant)))} MB/s (median {moved.MBps:N0}), proxy CPU {moved.CpuPerGib:F2} s/GiB");
            return moved;
        }

        /// <summary>curl's average speed in MB/s, or an error.</summary>
        private (double MBps, string? Error) Once(string url, bool upload)
        {
            string[] arguments = upload
                ? ["-s", "-f", "-o", "/dev/null", "-T", file, "-w", "%{speed_upload} %{size_upload}", url]
                : ["-s", "-f", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url];
            var info = new ProcessStartInfo(curl, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill();
                return (double.NaN, "curl did not finish within 5 minutes");
            }
            var parts = output.Result.Split(' ');
            if (process.ExitCode != 0 || parts.Length != 2) return (double.NaN, $"curl exit {process.ExitCode}: {output.Result}");
            if (long.Parse(parts[1], Invariant) != (long)sizeMib << 20) return (double.NaN, $"curl moved {parts[1]} bytes");
            return (double.Parse(parts[0], Invariant) / 1e6, null);
        }
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
