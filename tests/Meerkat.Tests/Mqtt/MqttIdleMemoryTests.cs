using System.Buffers;
using System.Net;
using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>What the broker itself keeps per idle client (its session and connection state, not the socket's):
/// measured over many clients, so the memory a 10,000-client broker spends on MQTT is known and bounded.</summary>
[Collection(Serial.Name)]
public sealed class MqttIdleMemoryTests
{
    private sealed class NullLink : IMqttLink
    {
        private readonly ArrayBufferWriter<byte> buffer = new(256);

        public IBufferWriter<byte> Output => buffer;
        public bool NeedsFlush => true;
        public bool IsWritable => true;
        public IPEndPoint? RemoteEndPoint => null;
        public void Flush() => buffer.ResetWrittenCount();
        public void Close() { }
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void An_idle_connected_client_costs_the_broker_at_most_512_bytes_of_its_own(MqttProtocolVersion version)
    {
        const int count = 2000;
        using var broker = new MqttBroker();
        var links = Enumerable.Range(0, count).Select(_ => new NullLink()).ToArray();
        var connects = Enumerable.Range(0, count).Select(i =>
        {
            var output = new ArrayBufferWriter<byte>();
            MqttPacketEncoder.Write(new MqttConnectPacket { ProtocolVersion = version, ClientId = $"idle-{i:D5}", KeepAlive = 60 }, version, output);
            return output.WrittenSpan.ToArray();
        }).ToArray();
        var ids = Enumerable.Range(0, count).Select(i => $"idle-{i:D5}").ToArray(); // the client id strings exist anyway: not counted
        var accepted = new List<object>(count);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < count; i++)
        {
            var connection = broker.Accept(links[i]);
            broker.Receive(connection, connects[i]);
            accepted.Add(connection);
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(count, broker.ConnectedCount);
        double perClient = (after - before) / (double)count;
        // 425 bytes measured: the connection's state (~170), its frame reader (~56), the session (~90), the client id
        // string and the broker's table entries; its subscription, in-flight, queue and alias tables are made on
        // first use. (Before that change: 865.)
        Assert.True(perClient <= 512, $"{perClient:F0} bytes per idle client");
        GC.KeepAlive(links);
        GC.KeepAlive(ids);
    }
}
