using System.Buffers;
using System.Net;
using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>
/// A socket-free network for the MQTT cores: client cores and a broker joined by in-memory links.
/// Every packet written goes into one FIFO of packets in transit; the test delivers them one at a
/// time, and can cut a client's connection at any point (what is in transit on it is lost).
/// </summary>
internal sealed class MqttPair : IDisposable
{
    public sealed class Client : IMqttClientObserver
    {
        public required MqttClientCore Core { get; init; }
        public required string Name { get; init; }
        public ArrayBufferWriter<byte> Out { get; } = new();
        public TestLink? Link { get; set; }
        public List<string> Received { get; } = [];
        public List<MqttDelivery> Done { get; } = [];
        public List<MqttSubscribeRequest> Acks { get; } = [];
        public int Generation { get; set; }

        public List<MqttConnAckPacket> ConnAcks { get; } = [];
        public void OnConnAck(MqttConnAckPacket packet) => ConnAcks.Add(packet);
        public List<MqttPublishPacket> Packets { get; } = [];
        public void OnMessage(MqttPublishPacket packet)
        {
            Received.Add($"{packet.Topic}:{System.Text.Encoding.UTF8.GetString(packet.Payload.Span)}");
            Packets.Add(packet);
        }
        public void OnPublishDone(MqttDelivery delivery) => Done.Add(delivery);
        public void OnSubscribeDone(MqttSubscribeRequest request) => Acks.Add(request);
        public void OnDisconnect(MqttDisconnectPacket packet) { }
    }

    public sealed class TestLink(MqttPair pair, Client client, int generation) : IMqttLink
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new();
        public IBufferWriter<byte> Output => Buffer;
        public bool NeedsFlush => true;
        public bool IsWritable => true;
        public IPEndPoint? RemoteEndPoint => null;
        public bool IsClosed { get; private set; }
        public MqttBrokerConnection? Connection { get; set; }

        public void Flush()
        {
            pair.Queue(client, generation, toBroker: false, Buffer.WrittenSpan.ToArray());
            Buffer.ResetWrittenCount();
        }

        public void Close()
        {
            if (IsClosed) return;
            IsClosed = true;
            pair.transit.Add((client, generation, false, []));
        }
    }

    private readonly List<(Client Client, int Generation, bool ToBroker, byte[] Bytes)> transit = [];
    private long now = 1000;

    public MqttPair(MqttBrokerOptions? options = null)
    {
        Broker = new MqttBroker(options) { Clock = () => now };
    }

    /// <summary>Moves the shared clock on and runs the broker's periodic checks and each client's keep-alive.</summary>
    public void Advance(long milliseconds)
    {
        now += milliseconds;
        Broker.Tick();
        foreach (var client in clients.Where(c => c.Link is not null).ToList())
        {
            if (!client.Core.Tick(now, client.Out)) Cut(client);
            else FlushClient(client);
        }
    }

    private readonly List<Client> clients = [];

    public MqttBroker Broker { get; private set; }

    public List<string> Log { get; } = [];

    public Client Add(string name, MqttClientOptions options)
    {
        var client = new Client { Core = new MqttClientCore(options), Name = name };
        clients.Add(client);
        Connect(client);
        return client;
    }

    /// <summary>Opens a new connection for the client: the broker accepts it and the client writes CONNECT.</summary>
    public void Connect(Client client)
    {
        client.Generation++;
        client.Link = new TestLink(this, client, client.Generation);
        client.Link.Connection = Broker.Accept(client.Link);
        client.Core.Start(now, client.Out);
        FlushClient(client);
    }

    /// <summary>Cuts the client's connection: whatever is in transit on it is lost; both sides see it end.</summary>
    public void Cut(Client client)
    {
        transit.RemoveAll(t => t.Client == client && t.Generation == client.Generation);
        client.Out.ResetWrittenCount();
        client.Core.ConnectionLost();
        if (client.Link?.Connection is { } connection) Broker.Closed(connection);
        client.Link = null;
        Log.Add($"cut {client.Name}");
    }

    /// <summary>Replaces the broker by a new one on the same data directory (a restart).</summary>
    public void RestartBroker(MqttBrokerOptions options, IEnumerable<Client> clients)
    {
        foreach (var client in clients) if (client.Link is not null) Cut(client);
        Broker.Dispose();
        Broker = new MqttBroker(options) { Clock = () => now };
        Log.Add("restart");
    }

    public void Publish(Client client, string topic, string payload, MqttQualityOfService qos, MqttProperties? properties = null) =>
        Api(client, () => client.Core.Publish(new MqttApplicationMessage(topic, System.Text.Encoding.UTF8.GetBytes(payload), qos, properties: properties), now, client.Out, client));

    public void Subscribe(Client client, string filter, MqttQualityOfService qos) =>
        Api(client, () => client.Core.Subscribe([new MqttSubscription(filter, qos)], null, now, client.Out));

    public void Unsubscribe(Client client, string filter) => Api(client, () => client.Core.Unsubscribe([filter], now, client.Out));

    public void Disconnect(Client client, MqttReasonCode reason = MqttReasonCode.Success)
    {
        Api(client, () => client.Core.Disconnect(client.Out, reason, now));
    }

    public void Api(Client client, Action call)
    {
        call();
        FlushClient(client);
    }

    private void FlushClient(Client client)
    {
        if (client.Out.WrittenCount == 0) return;
        Queue(client, client.Generation, toBroker: true, client.Out.WrittenSpan.ToArray());
        client.Out.ResetWrittenCount();
    }

    private void Queue(Client client, int generation, bool toBroker, byte[] bytes)
    {
        // One transit entry per packet, so a cut can fall between any two.
        var reader = new MqttFrameReader();
        var memory = bytes.AsMemory();
        while (reader.TryRead(memory, out int consumed, out _))
        {
            transit.Add((client, generation, toBroker, memory[..consumed].ToArray()));
            memory = memory[consumed..];
        }
    }

    /// <summary>The next packet in transit, described (type and direction), or null when the network is quiet.</summary>
    public string? Peek() => transit.Count == 0 ? null : Describe(transit[0]);

    private static string Describe((Client Client, int Generation, bool ToBroker, byte[] Bytes) t) => t.Bytes.Length == 0 ? $"close {t.Client.Name}" :
        $"{(MqttPacketType)(t.Bytes[0] >> 4)} {(t.ToBroker ? t.Client.Name + "->broker" : "broker->" + t.Client.Name)}";

    /// <summary>Delivers the next packet in transit; returns false when there is none.</summary>
    public bool Step()
    {
        if (transit.Count == 0) return false;
        var t = transit[0];
        transit.RemoveAt(0);
        now += 10;
        if (t.Generation != t.Client.Generation || t.Client.Link is null) return true;
        Log.Add(Describe(t));
        if (t.Bytes.Length == 0)
        {
            // The broker closed the connection, after what it wrote before.
            Cut(t.Client);
        }
        else if (t.ToBroker)
        {
            if (!t.Client.Link.IsClosed) Broker.Receive(t.Client.Link.Connection!, t.Bytes);
        }
        else
        {
            var reader = new MqttFrameReader();
            reader.TryRead(t.Bytes, out _, out var frame);
            t.Client.Core.Receive(MqttPacketDecoder.Decode(frame, t.Client.Core.Version), now, t.Client.Out, t.Client);
            FlushClient(t.Client);
        }
        return true;
    }

    /// <summary>Delivers everything in transit (bounded).</summary>
    public void Run(int limit = 10_000)
    {
        for (int i = 0; i < limit && Step(); i++) { }
        Assert.Null(Peek());
    }

    public void Dispose() => Broker.Dispose();
}
