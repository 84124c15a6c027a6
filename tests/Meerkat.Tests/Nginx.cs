using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Meerkat.Tests;

/// <summary>An nginx serving a temporary directory on a loopback port, started by the test and
/// stopped by its PID.</summary>
internal sealed class Nginx : IDisposable
{
    private readonly Process process;

    private Nginx(Process process, string root, int port)
    {
        this.process = process;
        Root = root;
        Port = port;
    }

    public string Root { get; }

    public int Port { get; }

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    /// <summary>Starts nginx, or skips (fails under CI) when it is not installed.</summary>
    public static async Task<Nginx> StartAsync(string root, string extraHttpConfig = "")
    {
        string? nginx = Peers.Find("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
        if (nginx is null) Peers.SkipOrFail("nginx");
        int port = FreePort();
        string dir = Directory.CreateTempSubdirectory("meerkat-nginx-").FullName;
        File.WriteAllText(Path.Combine(dir, "nginx.conf"), $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            error_log stderr;
            pid {{dir}}/nginx.pid;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                keepalive_requests 10000;
                {{extraHttpConfig}}
                server { listen 127.0.0.1:{{port}}; root {{root}}; }
            }
            """);
        var process = Process.Start(new ProcessStartInfo(nginx!, $"-p {dir} -c {dir}/nginx.conf") { RedirectStandardError = true })!;
        var server = new Nginx(process, root, port);
        // Ready means: accepting connections (bounded in time).
        for (var clock = Stopwatch.StartNew(); ; await Task.Delay(20))
        {
            if (process.HasExited) throw new InvalidOperationException($"nginx exited: {await process.StandardError.ReadToEndAsync()}");
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
            }
        }
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill();
        process.WaitForExit(10_000);
        process.Dispose();
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
