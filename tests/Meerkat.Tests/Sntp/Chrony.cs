using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meerkat.Sntp;

namespace Meerkat.Tests.Sntp;

/// <summary>
/// chronyd serving NTP on a loopback port, as a child process: its own configuration, drift and
/// pid files in a temporary directory, no command sockets, and no control of the system clock
/// (<c>-x</c>). Skips the test when chronyd is missing (fails it under CI, where .ci/run installs it).
/// </summary>
internal sealed class Chrony : IDisposable
{
    private readonly Process process;
    private readonly string directory;

    private Chrony(Process process, string directory, int port)
    {
        this.process = process;
        this.directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Server => $"127.0.0.1:{Port}";

    public static Chrony Start()
    {
        string? chronyd = Peers.Find("chronyd") ?? (File.Exists("/usr/sbin/chronyd") ? "/usr/sbin/chronyd" : null);
        if (chronyd is null) Peers.SkipOrFail("chronyd");
        string? lastOutput = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("meerkat-chrony-").FullName;
            // chronyd started as root drops to its own user: let it write its drift and pid files.
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
            int port = FreeUdpPort();
            string config = Path.Combine(directory, "chrony.conf");
            File.WriteAllText(config, string.Join('\n',
                $"port {port}",
                "bindaddress 127.0.0.1",
                "local stratum 10",
                "allow 127.0.0.1",
                "cmdport 0",
                "bindcmdaddress /",
                $"driftfile {Path.Combine(directory, "drift")}",
                $"pidfile {Path.Combine(directory, "chronyd.pid")}",
                ""));
            var process = Process.Start(new ProcessStartInfo(chronyd!, ["-f", config, "-d", "-x"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var chrony = new Chrony(process, directory, port);
            bool serving = false;
            try
            {
                serving = chrony.WaitUntilServing();
            }
            finally
            {
                if (!serving) chrony.Dispose();
            }
            if (serving) return chrony;
            lock (output) lastOutput = output.ToString();
        }
        throw new InvalidOperationException($"chronyd did not serve NTP on loopback; its output:\n{lastOutput}");
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }
        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A file chronyd was still writing: the temporary directory is left behind.
        }
    }

    /// <summary>Asks with a plain socket until chronyd answers (bounded to 10 s) or exits.</summary>
    private bool WaitUntilServing()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(IPAddress.Loopback, Port);
        var request = new byte[NtpPacket.Size];
        new NtpPacket { Version = 4, Mode = NtpMode.Client, Transmit = new NtpTimestamp(0x5EED) }.Write(request);
        var reply = new byte[1024];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
        {
            try
            {
                probe.Send(request);
                if (probe.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead) && probe.Receive(reply) >= NtpPacket.Size) return true;
            }
            catch (SocketException)
            {
                // Not bound yet: the ICMP port unreachable comes back as a refused send or receive. Ask again.
            }
        }
        return false;
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
