using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Meerkat.Bench.Harness;
using Meerkat.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>plaintext</c>: HTTP/1.1 "Hello, World!" on <c>GET /plaintext</c>, Meerkat vs. Kestrel, each
/// server in its own child process (this executable, hidden subcommands <c>serve-meerkat</c> /
/// <c>serve-kestrel</c>) so that its resident memory can be read from <c>/proc/PID/status</c>.
/// Load comes from external tools: <c>wrk</c> (keep-alive, one request in flight per connection)
/// and <c>h2load --h1 -m 16</c> (pipelined, 16 in flight per connection).
/// </summary>
public static partial class PlaintextBenchmark
{
    private static readonly byte[] Payload = "Hello, World!"u8.ToArray();
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // ---------------------------------------------------------------------------------------------
    // Orchestrator
    // ---------------------------------------------------------------------------------------------

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 1, 120);
        double warmup = args.Double("warmup", 2, 0, 60);
        int connections = args.Int("connections", 64, 1, 1024);
        int loadThreads = args.Int("load-threads", 2, 1, 64);
        int pipeline = args.Int("pipeline", 16, 1, 256);
        int threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        string singleLoop = args.Choice("single-loop", "yes", "yes", "no");
        string unbatched = args.Choice("unbatched", "no", "yes", "no");
        string kestrelStyle = args.Choice("kestrel", "raw", "raw", "mapget");
        string loadChoice = args.Choice("load", "both", "both", "wrk", "h2load");
        string serverChoice = args.Choice("server", "all", "all", "meerkat", "kestrel");
        args.RejectUnknown();
        CultureInfo.CurrentCulture = Invariant; // numbers in the report: 1,234.5 everywhere
        if (connections < loadThreads) throw new ArgumentException("--connections must be >= --load-threads");

        Report.Machine();
        var loads = new List<LoadTool>();
        if (loadChoice is "both" or "wrk")
        {
            if (FindOnPath("wrk") is { } wrk)
                loads.Add(new LoadTool("wrk keep-alive", wrk,
                    (url, s) => ["-t", Str(loadThreads), "-c", Str(connections), "-d", $"{Str(s)}s", url], ParseWrk));
            else Console.WriteLine("wrk not found on PATH: skipping the keep-alive load (sudo apt-get install wrk nghttp2-client)");
        }
        if (loadChoice is "both" or "h2load")
        {
            if (FindOnPath("h2load") is { } h2load)
                loads.Add(new LoadTool($"h2load pipelined -m {pipeline}", h2load,
                    (url, s) => ["--h1", "-m", Str(pipeline), "-c", Str(connections), "-t", Str(loadThreads), "-D", Str(s), url], ParseH2load));
            else Console.WriteLine("h2load not found on PATH: skipping the pipelined load (sudo apt-get install wrk nghttp2-client)");
        }
        if (loads.Count == 0)
        {
            Console.WriteLine("no load tool available: install them with `sudo apt-get install wrk nghttp2-client`");
            return 1;
        }

        var servers = new List<ServerSpec>();
        string meerkatName = $"Meerkat ({threads} loop{(threads == 1 ? "" : "s")}{(threads > 1 ? ", ReusePort" : "")})";
        if (serverChoice is "all" or "meerkat")
        {
            servers.Add(new ServerSpec(meerkatName, "serve-meerkat", ["--threads", Str(threads)]));
            if (singleLoop == "yes" && threads != 1) servers.Add(new ServerSpec("Meerkat (1 loop)", "serve-meerkat", ["--threads", "1"]));
            // The same server making one system call per socket read and write (no io_uring batch):
            // what ManagerOptions.BatchSocketCalls is worth, in the same run.
            if (unbatched == "yes")
            {
                servers.Add(new ServerSpec($"{meerkatName[..^1]}, one call per socket)", "serve-meerkat", ["--threads", Str(threads), "--batch", "no"]));
                if (singleLoop == "yes" && threads != 1) servers.Add(new ServerSpec("Meerkat (1 loop, one call per socket)", "serve-meerkat", ["--threads", "1", "--batch", "no"]));
            }
        }
        string kestrelName = $"Kestrel ({(kestrelStyle == "raw" ? "raw app.Run middleware" : "MapGet + Results.Text")})";
        if (serverChoice is "all" or "kestrel")
            servers.Add(new ServerSpec(kestrelName, "serve-kestrel", ["--style", kestrelStyle]));

        Console.WriteLine($"plaintext: GET /plaintext on 127.0.0.1, {connections} connections, {loadThreads} load threads, " +
            $"warm-up {Str(warmup)} s + measure {Str(seconds)} s per load; each server in its own child process, one after the other");
        foreach (var load in loads) Console.WriteLine($"  load: {load.Name}: {Path.GetFileName(load.Path)} {string.Join(' ', load.Arguments("URL", seconds))}");
        Console.WriteLine();

        var runs = new List<Measurement>();
        foreach (var spec in servers)
        {
            ServerProcess? server = null;
            try
            {
                server = ServerProcess.Start(spec);
                var idle = ProcStatus.Read(server.Pid);
                Console.WriteLine($"{spec.Name}: pid {server.Pid}, {server.Url}; idle VmRSS {Mib(idle.RssKb)}");
                Console.WriteLine($"  response: {server.Probe()}");
                foreach (var load in loads)
                {
                    string url = server.Url + "/plaintext";
                    if (warmup > 0)
                    {
                        var w = load.Execute(url, warmup);
                        if (w.Error is not null) Console.WriteLine($"  warm-up {load.Name}: {w.Error}");
                    }
                    var cpuBefore = ProcStatus.CpuSeconds(server.Pid);
                    var result = load.Execute(url, seconds);
                    var cpuAfter = ProcStatus.CpuSeconds(server.Pid);
                    var mem = ProcStatus.Read(server.Pid);
                    var m = new Measurement(spec.Name, load.Name, result, cpuAfter - cpuBefore, mem, idle);
                    runs.Add(m);
                    Console.WriteLine(
                        $"  {load.Name}: {result.RequestsPerSecond:N0} req/s, {result.Requests:N0} requests, server CPU {m.CpuMicrosPerRequest:F1} µs/req " +
                        $"({m.CpuSeconds / result.Seconds * 100:F0} % of a core), VmRSS {Mib(mem.RssKb)}, VmHWM {Mib(mem.HwmKb)}" +
                        (result.Error is null ? "" : $", ERROR: {result.Error}"));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                Console.WriteLine($"{spec.Name}: FAILED: {ex.Message}");
                if (server is not null) Console.WriteLine(server.StandardErrorTail());
                runs.Add(new Measurement(spec.Name, "(server)", new ToolResult(0, 0, 1, ex.Message, ""), 0, default, default));
            }
            finally
            {
                server?.Dispose();
            }
            Console.WriteLine();
        }

        PrintTables(runs, loads, servers, meerkatName, kestrelName);
        return runs.Any(r => r.Result.Error is not null) ? 1 : 0;
    }

    private static void PrintTables(List<Measurement> runs, List<LoadTool> loads, List<ServerSpec> servers, string meerkatName, string kestrelName)
    {
        Measurement? Find(string server, string load) => runs.FirstOrDefault(r => r.Server == server && r.Load == load);
        string Rps(Measurement? m) => m is null ? "-" : m.Result.Error is null ? Report.Number(m.Result.RequestsPerSecond) : "error";
        string Rss(Measurement? m) => m is null ? "-" : $"{Mib(m.Memory.RssKb)} (peak {Mib(m.Memory.HwmKb)})";

        Console.WriteLine($"Meerkat = {meerkatName}; Kestrel = {kestrelName}. RSS = VmRSS after the measured run (VmHWM peak so far).");
        Console.WriteLine();
        Console.WriteLine("| load | Meerkat req/s | Kestrel req/s | Meerkat/Kestrel | Meerkat RSS | Kestrel RSS |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|");
        foreach (var load in loads)
        {
            var (m, k) = (Find(meerkatName, load.Name), Find(kestrelName, load.Name));
            string ratio = m is { Result.Error: null } && k is { Result.Error: null }
                ? Report.Number(m.Result.RequestsPerSecond / k.Result.RequestsPerSecond, "F2") + "x" : "-";
            Console.WriteLine($"| {load.Name} | {Rps(m)} | {Rps(k)} | {ratio} | {Rss(m)} | {Rss(k)} |");
        }
        Console.WriteLine();

        Console.WriteLine("| server | load | req/s | requests | server CPU µs/req | server CPU % of 1 core | idle RSS | VmRSS | VmHWM | errors |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|--:|--:|--:|---|");
        foreach (var spec in servers)
            foreach (var m in runs.Where(r => r.Server == spec.Name))
                Console.WriteLine(
                    $"| {m.Server} | {m.Load} | {Rps(m)} | {m.Result.Requests:N0} | {m.CpuMicrosPerRequest:F1} | {(m.Result.Seconds > 0 ? m.CpuSeconds / m.Result.Seconds * 100 : 0):F0} | " +
                    $"{Mib(m.Idle.RssKb)} | {Mib(m.Memory.RssKb)} | {Mib(m.Memory.HwmKb)} | {m.Result.Error ?? "0"} |");
        Console.WriteLine();
        foreach (var m in runs.Where(r => r.Result.Error is not null && r.Result.Output.Length > 0))
            Console.WriteLine($"--- {m.Server} / {m.Load} output ---\n{m.Result.Output}");
    }

    internal sealed record ServerSpec(string Name, string Command, string[] Options);

    private sealed record Measurement(string Server, string Load, ToolResult Result, double CpuSeconds, MemoryStatus Memory, MemoryStatus Idle)
    {
        public double CpuMicrosPerRequest => Result.Requests == 0 ? double.NaN : CpuSeconds * 1e6 / Result.Requests;
    }

    internal static string Str(double value) => value.ToString(Invariant);

    internal static string Mib(long kb) => kb <= 0 ? "-" : (kb / 1024.0).ToString("F1", Invariant) + " MiB";

    internal static string? FindOnPath(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------
    // Load tools: run bounded, parse requests/s, fail on any error or non-2xx
    // ---------------------------------------------------------------------------------------------

    /// <summary>What one tool run measured. <see cref="Error"/> is null only when the tool exited
    /// 0, its output parsed, and it reported no socket errors, failures or non-2xx responses.</summary>
    internal sealed record ToolResult(double RequestsPerSecond, long Requests, double Seconds, string? Error, string Output);

    internal sealed record LoadTool(string Name, string Path, Func<string, double, string[]> Arguments, Func<string, ToolResult> Parse)
    {
        public ToolResult Execute(string url, double seconds)
        {
            var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in Arguments(url, seconds)) info.ArgumentList.Add(a);
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Path}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(seconds + 30)))
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                process.WaitForExit(TimeSpan.FromSeconds(5));
                return new ToolResult(0, 0, seconds, $"{System.IO.Path.GetFileName(Path)} did not finish within {seconds + 30} s (killed)", "");
            }
            string output = stdout.Result + stderr.Result;
            var result = Parse(output);
            if (process.ExitCode != 0 && result.Error is null)
                result = result with { Error = $"exit code {process.ExitCode}" };
            return result with { Output = output };
        }
    }

    // wrk 4.x:
    //   123456 requests in 5.00s, 15.00MB read
    //   Socket errors: connect 0, read 0, write 0, timeout 0     (only when nonzero)
    //   Non-2xx or 3xx responses: 5                             (only when nonzero)
    //   Requests/sec:  24691.20
    internal static ToolResult ParseWrk(string output)
    {
        var rps = WrkRps().Match(output);
        var total = WrkTotal().Match(output);
        if (!rps.Success || !total.Success) return new ToolResult(0, 0, 0, "could not parse wrk output", output);
        double perSecond = double.Parse(rps.Groups[1].Value, Invariant);
        long requests = long.Parse(total.Groups[1].Value, Invariant);
        double seconds = WrkDuration(total.Groups[2].Value, total.Groups[3].Value);
        var errors = new List<string>();
        if (WrkSocketErrors().Match(output) is { Success: true } se && se.Groups.Cast<Group>().Skip(1).Any(g => g.Value != "0"))
            errors.Add("socket errors: " + se.Value.Trim());
        if (WrkNon2xx().Match(output) is { Success: true } n2 && n2.Groups[1].Value != "0")
            errors.Add($"{n2.Groups[1].Value} non-2xx/3xx responses");
        return new ToolResult(perSecond, requests, seconds, errors.Count == 0 ? null : string.Join("; ", errors), output);
    }

    private static double WrkDuration(string value, string unit)
    {
        double v = double.Parse(value, Invariant);
        return unit switch { "us" => v / 1e6, "ms" => v / 1e3, "m" => v * 60, "h" => v * 3600, _ => v };
    }

    // h2load 1.52:
    //   finished in 5.00s, 123456.00 req/s, 15.00MB/s
    //   requests: 617280 total, 617280 started, 617280 done, 617280 succeeded, 0 failed, 0 errored, 0 timeout
    //   status codes: 617280 2xx, 0 3xx, 0 4xx, 0 5xx
    internal static ToolResult ParseH2load(string output)
    {
        var finished = H2Finished().Match(output);
        var requests = H2Requests().Match(output);
        var codes = H2Codes().Match(output);
        if (!finished.Success || !requests.Success || !codes.Success) return new ToolResult(0, 0, 0, "could not parse h2load output", output);
        double seconds = WrkDuration(finished.Groups[1].Value, finished.Groups[2].Value);
        double perSecond = double.Parse(finished.Groups[3].Value, Invariant);
        long succeeded = long.Parse(requests.Groups["succeeded"].Value, Invariant);
        var errors = new List<string>();
        foreach (var name in new[] { "failed", "errored", "timeout" })
            if (requests.Groups[name].Value != "0") errors.Add($"{requests.Groups[name].Value} {name}");
        foreach (var name in new[] { "s3", "s4", "s5" })
            if (codes.Groups[name].Value != "0") errors.Add($"{codes.Groups[name].Value} {name[1]}xx");
        if (succeeded == 0) errors.Add("no request succeeded");
        return new ToolResult(perSecond, succeeded, seconds, errors.Count == 0 ? null : string.Join("; ", errors), output);
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")] private static partial Regex WrkRps();
    [GeneratedRegex(@"(\d+) requests in ([0-9.]+)(us|ms|s|m|h),")] private static partial Regex WrkTotal();
    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")] private static partial Regex WrkSocketErrors();
    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")] private static partial Regex WrkNon2xx();
    [GeneratedRegex(@"finished in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+) req/s")] private static partial Regex H2Finished();
    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored, (?<timeout>\d+) timeout")] private static partial Regex H2Requests();
    [GeneratedRegex(@"status codes: \d+ 2xx, (?<s3>\d+) 3xx, (?<s4>\d+) 4xx, (?<s5>\d+) 5xx")] private static partial Regex H2Codes();

    // ---------------------------------------------------------------------------------------------
    // /proc readings of a child
    // ---------------------------------------------------------------------------------------------

    internal readonly record struct MemoryStatus(long RssKb, long HwmKb);

    internal static class ProcStatus
    {
        private static readonly long TicksPerSecond = ClockTicks();

        public static MemoryStatus Read(int pid)
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            }
            return new MemoryStatus(rss, hwm);

            static long Kb(string line) => long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], Invariant);
        }

        /// <summary>utime + stime of the whole process (all threads), from /proc/PID/stat.</summary>
        public static double CpuSeconds(int pid)
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields[0] is field 3 (state)
            return (long.Parse(fields[11], Invariant) + long.Parse(fields[12], Invariant)) / (double)TicksPerSecond;
        }

        [DllImport("libc", EntryPoint = "sysconf")] private static extern long SysConf(int name);

        private static long ClockTicks()
        {
            try { long t = SysConf(2 /* _SC_CLK_TCK */); return t > 0 ? t : 100; }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { return 100; }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Child server process
    // ---------------------------------------------------------------------------------------------

    /// <summary>A server child: this executable with a hidden <c>serve-*</c> subcommand. It prints
    /// <c>LISTENING url</c> when ready and exits when its stdin closes (so it also dies with the
    /// parent); <see cref="Dispose"/> closes stdin, waits briefly, then kills it by PID.</summary>
    internal sealed class ServerProcess : IDisposable
    {
        private readonly Process process;
        private readonly Task<string> stderr;

        private ServerProcess(Process process, string url)
        {
            this.process = process;
            Url = url;
            stderr = process.StandardError.ReadToEndAsync();
        }

        public int Pid => process.Id;
        public string Url { get; }

        public static ServerProcess Start(ServerSpec spec)
        {
            string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
            var info = new ProcessStartInfo(self)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            // Under `dotnet Meerkat.Bench.dll` the process is the dotnet host: pass the assembly.
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(typeof(PlaintextBenchmark).Assembly.Location);
            info.ArgumentList.Add(spec.Command);
            info.ArgumentList.Add("0");
            foreach (var o in spec.Options) info.ArgumentList.Add(o);
            var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {self}");
            try
            {
                var line = process.StandardOutput.ReadLineAsync();
                if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is not { } text || !text.StartsWith("LISTENING ", StringComparison.Ordinal))
                    throw new InvalidOperationException($"{spec.Name} did not report LISTENING within 30 s: {process.StandardError.ReadToEndAsync().Wait(1000)}");
                return new ServerProcess(process, text["LISTENING ".Length..].Trim());
            }
            catch
            {
                Kill(process);
                process.Dispose();
                throw;
            }
        }

        /// <summary>One request by hand, to show what each server answers (status line, headers, body size).</summary>
        public string Probe()
        {
            var uri = new Uri(Url);
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveTimeout = 5000 };
            socket.Connect(IPAddress.Loopback, uri.Port);
            socket.Send("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8);
            var buffer = new byte[4096];
            int got = 0;
            while (got < buffer.Length)
            {
                int n = socket.Receive(buffer.AsSpan(got));
                if (n == 0) break;
                got += n;
                string sofar = System.Text.Encoding.ASCII.GetString(buffer, 0, got);
                int end = sofar.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0 && got >= end + 4 + Payload.Length) break;
            }
            string text = System.Text.Encoding.ASCII.GetString(buffer, 0, got);
            return $"{got} bytes: " + text.Replace("\r\n", " | ", StringComparison.Ordinal);
        }

        public string StandardErrorTail() => stderr.Wait(2000) ? stderr.Result : "";

        public void Dispose()
        {
            try { process.StandardInput.Close(); } catch (IOException) { }
            if (!process.WaitForExit(TimeSpan.FromSeconds(5))) Kill(process);
            process.Dispose();
        }

        private static void Kill(Process process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(); // SIGKILL to this PID
                    process.WaitForExit(TimeSpan.FromSeconds(5));
                }
            }
            catch (InvalidOperationException) { }
        }
    }

    /// <summary>Blocks until stdin reaches EOF: the parent closed it, or died.</summary>
    internal static void WaitForStdinEof()
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        while (stdin.Read(buffer) > 0) { }
    }

    /// <summary>Hidden subcommand <c>serve-meerkat PORT [--threads N] [--max-connections N] [--batch yes|no]</c>: a
    /// <see cref="ManagerGroup"/> of N loops on the same port (SO_REUSEPORT when N &gt; 1).</summary>
    public static int ServeMeerkat(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        int threads = options.Int("threads", Environment.ProcessorCount, 1, 256);
        int maxConnections = options.Int("max-connections", 10_000, 1, 1_000_000);
        bool batch = options.Choice("batch", "yes", "yes", "no") == "yes";
        var (cert, key) = (options.Text("cert", ""), options.Text("key", ""));
        options.RejectUnknown();
        string scheme = cert.Length > 0 ? "https" : "http";
        var httpOptions = new HttpServerOptions { Tls = cert.Length > 0 ? Meerkat.Tls.TlsServerOptions.FromPemFiles(cert, key.Length > 0 ? key : null) : null };

        return MeerkatChildServer.Run(threads, port, scheme, (manager, bindPort, listenOptions) =>
            manager.ListenHttp($"{scheme}://127.0.0.1:{bindPort}", static (c, e) =>
            {
                if (e.Kind != EventKind.HttpMessage) return;
                if (e.Request!.PathIs("/plaintext"u8)) c.Reply(200, "Hello, World!"u8, "text/plain");
                else c.Reply(404, "not found"u8, "text/plain");
            }, httpOptions, listenOptions), WaitForStdinEof, new ManagerOptions { MaxConnections = maxConnections, BatchSocketCalls = batch });
    }

    /// <summary>Hidden subcommand <c>serve-kestrel PORT [--style raw|mapget] [--protocols h2]</c>: a slim
    /// WebApplication, logging off. <c>raw</c>: one <c>app.Run</c> terminal middleware writing the
    /// pre-encoded bytes (no routing); <c>mapget</c>: <c>MapGet("/plaintext", () => Results.Text(...))</c>.</summary>
    public static int ServeKestrel(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        string style = options.Choice("style", "raw", "raw", "mapget");
        string protocols = options.Choice("protocols", "default", "default", "h2");
        var (cert, key) = (options.Text("cert", ""), options.Text("key", ""));
        options.RejectUnknown();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port, listen =>
        {
            // h2c: Kestrel speaks HTTP/2 without TLS only on an HTTP/2-only endpoint (prior knowledge).
            if (protocols == "h2") listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
            // HTTPS: the PEM pair the parent wrote (the same certificate as the Meerkat child).
            if (cert.Length > 0)
                listen.UseHttps(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key.Length > 0 ? key : null));
        }));
        var app = builder.Build();
        if (style == "raw")
        {
            app.Run(static context =>
            {
                var response = context.Response;
                if (context.Request.Path.Equals("/plaintext", StringComparison.Ordinal))
                {
                    response.StatusCode = 200;
                    response.ContentType = "text/plain";
                    response.ContentLength = Payload.Length;
                    return response.Body.WriteAsync(Payload, 0, Payload.Length);
                }
                response.StatusCode = 404;
                return Task.CompletedTask;
            });
        }
        else
        {
            app.MapGet("/plaintext", () => Results.Text("Hello, World!"));
        }

        app.StartAsync().GetAwaiter().GetResult();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine($"LISTENING {address.TrimEnd('/')}");
        Console.Out.Flush();
        // The host's console lifetime turns SIGTERM into ApplicationStopping (and cancels the
        // default exit): honour it as well as stdin EOF, or `kill PID` would leave us running.
        var eof = Task.Factory.StartNew(WaitForStdinEof, TaskCreationOptions.LongRunning);
        Task.WaitAny(eof, Task.Delay(Timeout.Infinite, app.Lifetime.ApplicationStopping));
        app.StopAsync().Wait(TimeSpan.FromSeconds(5));
        return 0;
    }

    internal static int ParsePort(string[] args)
    {
        if (args.Length == 0 || !int.TryParse(args[0], NumberStyles.None, Invariant, out int port) || port > 65535)
            throw new ArgumentException("expected PORT (0 picks one) as the first argument");
        return port;
    }
}
