using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>Shared pieces of the MQTT tests: a broker on a loopback port, a client that records its
/// events, and external peers (mosquitto, its clients, paho-mqtt) started and stopped by PID.</summary>
internal static class MqttTestKit
{
    public static readonly MqttProtocolVersion[] Versions = [MqttProtocolVersion.V311, MqttProtocolVersion.V500];

    public static TheoryData<MqttProtocolVersion> BothVersions => new(MqttProtocolVersion.V311, MqttProtocolVersion.V500);

    public static (MqttBroker Broker, Connection Listener, int Port) StartBroker(Manager manager, MqttBrokerOptions? options = null, string scheme = "mqtt", Meerkat.Tls.TlsServerOptions? tls = null)
    {
        var broker = new MqttBroker(options);
        var listener = manager.ListenMqtt($"{scheme}://127.0.0.1:0{(scheme.StartsWith("ws", StringComparison.Ordinal) ? "/mqtt" : "")}", broker, tls);
        return (broker, listener, listener.LocalEndPoint!.Port);
    }

    /// <summary>A free loopback port (for programs that cannot pick their own).</summary>
    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static string RequireProgram(string name)
    {
        var path = Peers.Find(name) ?? (File.Exists("/usr/sbin/" + name) ? "/usr/sbin/" + name : null);
        if (path is null) Peers.SkipOrFail(name);
        return path!;
    }

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Lets other users (mosquitto after it drops root) read a directory and its files.</summary>
    public static void MakeReadable(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        foreach (var file in Directory.GetFiles(directory)) File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
    }
}

/// <summary>An MQTT client session on the test's loop that records what it hears.</summary>
internal sealed class RecordingClient
{
    public RecordingClient(Manager manager, MqttClientOptions options)
    {
        Session = manager.ConnectMqtt(options, Handle);
    }

    public MqttClientSession Session { get; }

    public List<(string Topic, string Payload, MqttQualityOfService QoS, bool Retain, bool Duplicate)> Messages { get; } = [];

    public List<MqttDelivery> Done { get; } = [];

    public List<MqttSubscribeRequest> Acks { get; } = [];

    public List<MqttConnAckPacket> ConnAcks { get; } = [];

    public List<EventKind> Events { get; } = [];

    public List<Exception> Errors { get; } = [];

    public int Closes { get; private set; }

    public MqttProperties? LastProperties { get; private set; }

    public Action<Connection, Event>? Next { get; set; }

    private void Handle(Connection c, Event e)
    {
        if (e.Kind is not (EventKind.Poll or EventKind.Write or EventKind.Read)) Events.Add(e.Kind);
        switch (e.Kind)
        {
            case EventKind.MqttConnAck: ConnAcks.Add(e.Mqtt!.ConnAck!); break;
            case EventKind.MqttMessage:
                var p = e.Mqtt!.Publish!;
                Messages.Add((p.Topic, Encoding.UTF8.GetString(e.Data), p.QualityOfService, p.Retain, p.Duplicate));
                LastProperties = p.Properties;
                break;
            case EventKind.MqttPublishDone: Done.Add(e.Mqtt!.Delivery!); break;
            case EventKind.MqttSubAck or EventKind.MqttUnsubAck: Acks.Add(e.Mqtt!.Request!); break;
            case EventKind.Error: Errors.Add(e.Error!); break;
            case EventKind.Close: Closes++; break;
        }
        Next?.Invoke(c, e);
    }

    public bool IsConnected => Session.State == MqttClientState.Connected;
}

/// <summary>mosquitto started on a free loopback port with a config file written here, stopped by PID.</summary>
internal sealed class Mosquitto : IDisposable
{
    private readonly Process process;
    private readonly string directory;

    public Mosquitto(string extraConfig = "", params int[] extraPorts)
    {
        string program = MqttTestKit.RequireProgram("mosquitto");
        directory = Directory.CreateTempSubdirectory("meerkat-mosquitto-").FullName;
        // Run as root, mosquitto drops to its own user: it must be able to read what is here.
        MqttTestKit.MakeReadable(directory);
        Port = MqttTestKit.FreePort();
        string config = Path.Combine(directory, "mosquitto.conf");
        File.WriteAllText(config, $"listener {Port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n{extraConfig}\n");
        process = Process.Start(new ProcessStartInfo(program, ["-c", config]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        foreach (int port in extraPorts.Prepend(Port))
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                Thread.Yield();
                process.WaitForExit(20);
            }
        }
    }

    public int Port { get; }

    public StringBuilder Log { get; } = new();

    public string Url => $"mqtt://127.0.0.1:{Port}";

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
        finally
        {
            process.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }
}
