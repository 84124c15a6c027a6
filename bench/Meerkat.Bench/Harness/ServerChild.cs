using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Meerkat.Bench.Harness;

/// <summary>
/// A server in a child process for the benchmarks that compare whole programs (native meerkat,
/// meerkat on the JIT, Kestrel, nginx): started with a free port, ready once it answers
/// <c>GET /plaintext</c>, stopped with SIGTERM (then SIGKILL) by PID. Every server answers
/// <c>/plaintext</c> with <c>Hello, World!</c>.
/// </summary>
internal sealed class ServerChild : IDisposable
{
    private static readonly byte[] Request = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray();
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ServerChild(Process process, int port)
    {
        this.process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    /// <summary>Keeps the first 64 KiB of the child's output, for error messages.</summary>
    private void Keep(string? line)
    {
        lock (output) if (output.Length < 64 * 1024) output.AppendLine(line);
    }

    public int Pid => process.Id;

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>From <see cref="Start"/> to the first answered request.</summary>
    public TimeSpan TimeToFirstResponse { get; private set; }

    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>Starts <paramref name="file"/> with the <paramref name="arguments"/> made for a free
    /// port, and waits until it answers, polling every millisecond for at most 60 s.</summary>
    public static ServerChild Start(string file, Func<int, IEnumerable<string>> arguments, IDictionary<string, string>? environment = null)
    {
        int port = FreePort();
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in arguments(port)) info.ArgumentList.Add(a);
        if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
        var clock = Stopwatch.StartNew();
        var child = new ServerChild(Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}"), port);
        try
        {
            while (!child.Answers())
            {
                if (child.process.HasExited) throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {child.process.ExitCode}: {child.Output}");
                if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"{Path.GetFileName(file)} did not answer within 60 s: {child.Output}");
                Thread.Sleep(1);
            }
            child.TimeToFirstResponse = clock.Elapsed;
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>One keep-alive request on a new connection, left open: for idle-connection counts.</summary>
    public Socket OpenIdle()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
        socket.Connect(IPAddress.Loopback, Port);
        Exchange(socket);
        return socket;
    }

    public PlaintextMemory Memory() => PlaintextMemory.Read(process.Id);

    private bool Answers()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000 };
            socket.Connect(IPAddress.Loopback, Port);
            Exchange(socket);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Exchange(Socket socket)
    {
        socket.Send(Request);
        var buffer = new byte[1024];
        int got = 0;
        while (!buffer.AsSpan(0, got).EndsWith("Hello, World!"u8))
        {
            int n = socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
            if (n == 0) throw new SocketException((int)SocketError.ConnectionReset);
            got += n;
            if (got == buffer.Length) throw new InvalidOperationException("unexpected response: " + Encoding.ASCII.GetString(buffer));
        }
    }

    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            try { process.StandardInput.Close(); } catch (IOException) { }
            Kill(process.Id, 15);
            if (!process.WaitForExit(TimeSpan.FromSeconds(5))) process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
        process.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")] private static extern int Kill(int pid, int signal);
}

/// <summary>VmRSS and VmHWM of a process, in KiB.</summary>
internal readonly record struct PlaintextMemory(long RssKb, long HwmKb)
{
    public static PlaintextMemory Read(int pid)
    {
        var status = Benchmarks.PlaintextBenchmark.ProcStatus.Read(pid);
        return new PlaintextMemory(status.RssKb, status.HwmKb);
    }
}

/// <summary>nginx as a child: N workers, <c>/plaintext</c> answered from the config, long keep-alive.</summary>
internal static class NginxChild
{
    public static string? Find() => Benchmarks.PlaintextBenchmark.FindOnPath("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);

    /// <summary>Writes a config into <paramref name="work"/> and starts nginx with <paramref name="workers"/>
    /// workers (one worker: no master process, so the one PID holds all its memory).</summary>
    public static ServerChild Start(string nginx, int workers, DirectoryInfo work) => ServerChild.Start(nginx, port =>
    {
        string dir = work.FullName;
        string conf = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(conf, $$"""
            daemon off;
            master_process {{(workers > 1 ? "on" : "off")}};
            worker_processes {{workers}};
            worker_rlimit_nofile 65536;
            error_log stderr;
            pid {{dir}}/nginx.pid;
            events { worker_connections 32768; }
            http {
                access_log off;
                keepalive_timeout 300s;
                keepalive_requests 10000000;
                client_body_temp_path {{dir}}/client_body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                server {
                    listen 127.0.0.1:{{port}};
                    location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
                }
            }
            """);
        return ["-e", "stderr", "-p", dir, "-c", conf];
    });
}
