using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>Bad input and limits against the broker over real sockets: the right reason code (5.0) or
/// a plain close (3.1.1), never a crash, and the broker keeps serving others.</summary>
public sealed class MqttMalformedTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    private static byte[] Encode(MqttPacket packet, MqttProtocolVersion version)
    {
        var output = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(packet, version, output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Connect(MqttProtocolVersion version, string id = "raw") => Encode(new MqttConnectPacket { ProtocolVersion = version, ClientId = id }, version);

    /// <summary>Sends the bytes, then reads until the broker closes (at most 10 s); returns the packets received.</summary>
    private List<MqttPacket> Exchange(int port, MqttProtocolVersion version, params byte[][] pieces) => Exchange(port, version, halfClose: false, pieces);

    private List<MqttPacket> Exchange(int port, MqttProtocolVersion version, bool halfClose, params byte[][] pieces)
    {
        var task = Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            foreach (var piece in pieces) await socket.SendAsync(piece);
            if (halfClose) socket.Shutdown(SocketShutdown.Send);
            var received = new MemoryStream();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                }
                catch (SocketException)
                {
                    break;
                }
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
            return received.ToArray();
        });
        var bytes = manager.Until(task);
        var reader = new MqttFrameReader();
        var packets = new List<MqttPacket>();
        if (halfClose) return packets;
        var memory = bytes.AsMemory();
        while (reader.TryRead(memory, out int consumed, out var frame))
        {
            memory = memory[consumed..];
            packets.Add(MqttPacketDecoder.Decode(frame, version));
        }
        return packets;
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, new byte[] { 0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01 }, MqttReasonCode.MalformedPacket)]      // QoS 3
    [InlineData(MqttProtocolVersion.V500, new byte[] { 0x30, 0x03, 0x00, 0x01, 0x23 }, MqttReasonCode.TopicNameInvalid)]                 // '#' in a topic
    [InlineData(MqttProtocolVersion.V500, new byte[] { 0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x09 }, MqttReasonCode.TopicAliasInvalid)] // alias over the maximum
    [InlineData(MqttProtocolVersion.V500, new byte[] { 0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01 }, MqttReasonCode.ProtocolError)]  // alias never set
    [InlineData(MqttProtocolVersion.V500, new byte[] { 0x20, 0x03, 0x00, 0x00, 0x00 }, MqttReasonCode.ProtocolError)]                    // CONNACK from a client
    [InlineData(MqttProtocolVersion.V500, new byte[] { 0xF0, 0x00 }, MqttReasonCode.ProtocolError)]                                      // AUTH, connected without a method
    public void A_5_0_violation_is_answered_with_disconnect_and_its_reason_code(MqttProtocolVersion version, byte[] bad, MqttReasonCode expected)
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { TopicAliasMaximum = 5 });
        var packets = Exchange(port, version, Connect(version), bad);
        Assert.Equal(2, packets.Count);
        Assert.IsType<MqttConnAckPacket>(packets[0]);
        Assert.Equal(expected, Assert.IsType<MqttDisconnectPacket>(packets[1]).ReasonCode);
        StillServes(port);
    }

    [Fact]
    public void A_3_1_1_violation_closes_the_connection_without_a_word()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager);
        var packets = Exchange(port, MqttProtocolVersion.V311, Connect(MqttProtocolVersion.V311), [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]);
        Assert.IsType<MqttConnAckPacket>(Assert.Single(packets));
        StillServes(port);
    }

    [Fact]
    public void A_first_packet_that_is_not_connect_closes_the_connection()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager);
        Assert.Empty(Exchange(port, MqttProtocolVersion.V311, [0xC0, 0x00]));
    }

    [Fact]
    public void An_unsupported_protocol_level_gets_return_code_1_in_the_3_1_1_form()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager);
        var connect = Connect(MqttProtocolVersion.V311);
        connect[8] = 6; // protocol level
        var ack = Assert.IsType<MqttConnAckPacket>(Assert.Single(Exchange(port, MqttProtocolVersion.V311, connect)));
        Assert.Equal(MqttReasonCode.UnsupportedProtocolVersion, ack.ReasonCode);
    }

    [Fact]
    public void A_packet_over_the_maximum_size_is_refused_from_its_header()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { MaximumPacketSize = 1024 });
        var packets = Exchange(port, MqttProtocolVersion.V500, Connect(MqttProtocolVersion.V500), [0x30, 0x88, 0x27]); // PUBLISH of 5000 bytes announced
        var ack = Assert.IsType<MqttConnAckPacket>(packets[0]);
        Assert.Equal(1024u, ack.Properties!.MaximumPacketSize);
        Assert.Equal(MqttReasonCode.PacketTooLarge, Assert.IsType<MqttDisconnectPacket>(packets[1]).ReasonCode);
    }

    [Fact]
    public void A_second_connect_is_a_protocol_error()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager);
        var packets = Exchange(port, MqttProtocolVersion.V500, Connect(MqttProtocolVersion.V500), Connect(MqttProtocolVersion.V500));
        Assert.Equal(MqttReasonCode.ProtocolError, Assert.IsType<MqttDisconnectPacket>(packets[1]).ReasonCode);
    }

    [Fact]
    public void A_connection_that_never_sends_connect_is_closed_after_the_connect_timeout()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300) });
        Assert.Empty(Exchange(port, MqttProtocolVersion.V500));
    }

    [Fact]
    public void Connections_over_the_limit_are_refused_with_quota_exceeded()
    {
        var (broker, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { MaxConnections = 1 });
        var first = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ClientId = "first" });
        manager.Until(() => first.IsConnected, what: "the first CONNACK");
        var packets = Exchange(port, MqttProtocolVersion.V500, Connect(MqttProtocolVersion.V500, "second"));
        Assert.Equal(MqttReasonCode.QuotaExceeded, Assert.IsType<MqttConnAckPacket>(Assert.Single(packets)).ReasonCode);
        Assert.Equal(1, broker.ConnectedCount);
    }

    [Fact]
    public void Random_garbage_never_takes_the_broker_down()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager);
        var random = new Random(42);
        for (int i = 0; i < 20; i++)
        {
            var garbage = new byte[random.Next(1, 200)];
            random.NextBytes(garbage);
            Exchange(port, MqttProtocolVersion.V500, halfClose: true, i % 2 == 0 ? garbage : [.. Connect(MqttProtocolVersion.V500, $"g{i}"), .. garbage]);
        }
        StillServes(port);
    }

    private void StillServes(int port)
    {
        var client = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ClientId = "after-" + Guid.NewGuid().ToString("N")[..6] });
        manager.Until(() => client.IsConnected, what: "a normal client after the bad one");
        client.Session.Disconnect();
        manager.Until(() => client.Session.IsEnded, what: "its disconnect");
    }
}
