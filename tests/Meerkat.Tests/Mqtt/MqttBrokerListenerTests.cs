using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>A broker's listeners: all on one manager (another is refused with a clear exception), and its
/// ticker (keep-alive, expiry) runs for whichever listeners remain.</summary>
public sealed class MqttBrokerListenerTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    [Fact]
    public void A_listener_on_a_second_manager_is_refused_and_the_first_keeps_serving()
    {
        using var other = Loop.Create(PollerBackend.Auto);
        var (broker, _, port) = MqttTestKit.StartBroker(manager);
        var error = Assert.Throws<InvalidOperationException>(() => other.ListenMqtt("mqtt://127.0.0.1:0", broker));
        Assert.Contains("one manager", error.Message, StringComparison.Ordinal);
        Assert.IsType<MqttConnAckPacket>(ConnectAndReadUntilClosed(port, keepAlive: 0, closeAfterConnAck: true)[0]);
        // A second listener on the same manager is fine.
        int second = manager.ListenMqtt("mqtt://127.0.0.1:0", broker).LocalEndPoint!.Port;
        Assert.IsType<MqttConnAckPacket>(ConnectAndReadUntilClosed(second, keepAlive: 0, closeAfterConnAck: true)[0]);
    }

    [Fact]
    public void Keep_alive_is_enforced_on_the_listeners_that_remain_after_the_first_closes_and_on_a_later_one()
    {
        var (broker, first, _) = MqttTestKit.StartBroker(manager);
        var second = manager.ListenMqtt("mqtt://127.0.0.1:0", broker);
        first.Close();
        manager.Until(() => first.State == ConnectionState.Closed, what: "the first listener to close");
        AssertKeepAliveEnforced(second.LocalEndPoint!.Port);

        second.Close();
        manager.Until(() => second.State == ConnectionState.Closed, what: "the second listener to close");
        var third = manager.ListenMqtt("mqtt://127.0.0.1:0", broker);
        AssertKeepAliveEnforced(third.LocalEndPoint!.Port);
    }

    private void AssertKeepAliveEnforced(int port)
    {
        var packets = ConnectAndReadUntilClosed(port, keepAlive: 1, closeAfterConnAck: false);
        Assert.Equal(2, packets.Count);
        Assert.IsType<MqttConnAckPacket>(packets[0]);
        Assert.Equal(MqttReasonCode.KeepAliveTimeout, Assert.IsType<MqttDisconnectPacket>(packets[1]).ReasonCode);
    }

    /// <summary>CONNECT (5.0) with <paramref name="keepAlive"/> seconds, then silence; the packets received until the broker closes (at most 10 s).</summary>
    private List<MqttPacket> ConnectAndReadUntilClosed(int port, ushort keepAlive, bool closeAfterConnAck)
    {
        var connect = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(new MqttConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = $"k{port}", KeepAlive = keepAlive }, MqttProtocolVersion.V500, connect);
        var task = Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            await socket.SendAsync(connect.WrittenMemory);
            var packets = new List<MqttPacket>();
            using var reader = new MqttFrameReader();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0) return packets;
                var memory = buffer.AsMemory(0, n);
                while (reader.TryRead(memory, out int consumed, out var frame))
                {
                    memory = memory[consumed..];
                    packets.Add(MqttPacketDecoder.Decode(frame, MqttProtocolVersion.V500));
                }
                if (closeAfterConnAck && packets.Count > 0) return packets;
            }
        });
        return manager.Until(task);
    }
}
