using System.Buffers;
using System.Net;
using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>What the broker allocates per routed message (DESIGN.md §6: counted in tests).</summary>
public sealed class MqttAllocationTests
{
    private sealed class CountingLink : IMqttLink
    {
        private readonly ArrayBufferWriter<byte> buffer = new(1 << 20);

        public long Bytes { get; private set; }
        public IBufferWriter<byte> Output => buffer;
        public bool NeedsFlush => true;
        public bool IsWritable => true;
        public IPEndPoint? RemoteEndPoint => null;

        public void Flush()
        {
            Bytes += buffer.WrittenCount;
            buffer.ResetWrittenCount();
        }

        public void Close() { }
    }

    private static byte[] Encode(MqttProtocolVersion version, params MqttPacket[] packets)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var packet in packets) MqttPacketEncoder.Write(packet, version, output);
        return output.WrittenSpan.ToArray();
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void A_qos0_message_routed_to_a_subscriber_allocates_exactly_its_payload_copy_and_two_small_objects(MqttProtocolVersion version)
    {
        using var broker = new MqttBroker();
        var subscriberLink = new CountingLink();
        var publisherLink = new CountingLink();
        var subscriber = broker.Accept(subscriberLink);
        var publisher = broker.Accept(publisherLink);
        broker.Receive(subscriber, Encode(version, new MqttConnectPacket { ProtocolVersion = version, ClientId = "s" },
            new MqttSubscribePacket { PacketId = 1, Subscriptions = [new MqttSubscription("sensors/+/temp")] }));
        broker.Receive(publisher, Encode(version, new MqttConnectPacket { ProtocolVersion = version, ClientId = "p" }));
        const int count = 1000;
        var batch = Encode(version, Enumerable.Range(0, count).Select(i => (MqttPacket)new MqttPublishPacket { Topic = "sensors/a/temp", Payload = new byte[16] }).ToArray());
        broker.Receive(publisher, batch); // warm-up: JIT, the topic cache, the trie's lookups
        long before = subscriberLink.Bytes;

        long allocated = GC.GetAllocatedBytesForCurrentThread();
        broker.Receive(publisher, batch);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.Equal(batch.Length, subscriberLink.Bytes - before); // every message delivered, same bytes
        // Per message, exactly: the 16-byte payload copy (40 B with its array header), the decoded PUBLISH
        // (64 B) and the broker's message record (64 B); no topic string, no acknowledgement object,
        // nothing per subscriber.
        Assert.Equal(168.0, allocated / (double)count);
    }
}
