// How this file works: packet -> bytes. Each packet's body is measured first, so the whole packet
// is written in one span of exactly the right size: type and flags byte, remaining length, body.
// Fields the protocol version lacks are left out (3.1.1 has no properties and no reason codes
// outside CONNACK and SUBACK), and the short forms of 5.0 are used where allowed (§3.4.2.1:
// a success without properties is just the packet identifier).
using System.Buffers;
using System.Text;

namespace Meerkat.Mqtt;

/// <summary>Encodes MQTT packets.</summary>
internal static class MqttPacketEncoder
{
    /// <summary>Writes <paramref name="packet"/> for <paramref name="version"/>; returns its size.</summary>
    /// <exception cref="ArgumentException">The packet cannot be encoded (too large, or a string over 65,535 bytes).</exception>
    public static int Write(MqttPacket packet, MqttProtocolVersion version, IBufferWriter<byte> output)
    {
        int size = Measure(packet, version, out int remaining);
        var w = new MqttWriter(output.GetSpan(size));
        w.WriteByte((byte)((int)packet.Type << 4 | Flags(packet)));
        w.WriteVariableByteInteger(remaining);
        WriteBody(ref w, packet, version == MqttProtocolVersion.V500);
        output.Advance(size);
        return size;
    }

    /// <summary>The packet's size on the wire.</summary>
    public static int Measure(MqttPacket packet, MqttProtocolVersion version) => Measure(packet, version, out _);

    /// <summary>Writes a PUBLISH from its parts, without building a packet object (the broker's fan-out path).</summary>
    internal static int WritePublish(IBufferWriter<byte> output, MqttProtocolVersion version, string topic, ReadOnlySpan<byte> payload, MqttQualityOfService qos,
        bool retain, bool duplicate, ushort packetId, MqttProperties? properties)
    {
        bool v5 = version == MqttProtocolVersion.V500;
        int propertiesSize = 0;
        int remaining = MqttWriter.StringSize(topic) + (qos == MqttQualityOfService.AtMostOnce ? 0 : 2)
            + (v5 ? MqttProperties.BlockSize(properties, out propertiesSize) : 0) + payload.Length;
        int size = 1 + VariableByteInteger.Size(remaining) + remaining;
        var w = new MqttWriter(output.GetSpan(size));
        w.WriteByte((byte)(0x30 | (duplicate ? 0x08 : 0) | (int)qos << 1 | (retain ? 1 : 0)));
        w.WriteVariableByteInteger(remaining);
        w.WriteString(topic);
        if (qos != MqttQualityOfService.AtMostOnce) w.WriteUInt16(packetId);
        if (v5) MqttProperties.WriteBlock(ref w, properties, propertiesSize);
        w.WriteBytes(payload);
        output.Advance(size);
        return size;
    }

    /// <summary>Writes PUBACK, PUBREC, PUBREL or PUBCOMP without properties, without building a packet object (the broker's hot path).</summary>
    internal static void WritePublishResponse(IBufferWriter<byte> output, MqttProtocolVersion version, MqttPacketType type, ushort packetId, MqttReasonCode code)
    {
        bool withCode = version == MqttProtocolVersion.V500 && code != MqttReasonCode.Success;
        var span = output.GetSpan(5);
        span[0] = (byte)((int)type << 4 | (type == MqttPacketType.PubRel ? 0x02 : 0));
        span[1] = withCode ? (byte)3 : (byte)2;
        span[2] = (byte)(packetId >> 8);
        span[3] = (byte)packetId;
        if (withCode) span[4] = (byte)code;
        output.Advance(withCode ? 5 : 4);
    }

    /// <summary>Size of a PUBLISH built from parts, as <see cref="WritePublish"/> would write it.</summary>
    internal static int MeasurePublish(MqttProtocolVersion version, string topic, int payloadLength, MqttQualityOfService qos, MqttProperties? properties)
    {
        int remaining = MqttWriter.StringSize(topic) + (qos == MqttQualityOfService.AtMostOnce ? 0 : 2)
            + (version == MqttProtocolVersion.V500 ? MqttProperties.BlockSize(properties, out _) : 0) + payloadLength;
        return 1 + VariableByteInteger.Size(remaining) + remaining;
    }

    private static int Measure(MqttPacket packet, MqttProtocolVersion version, out int remaining)
    {
        remaining = MeasureBody(packet, version == MqttProtocolVersion.V500);
        if (remaining > VariableByteInteger.MaxValue) throw new ArgumentException($"a {MqttPacketDecoder.Name(packet.Type)} of {remaining} bytes is over MQTT's limit", nameof(packet));
        return 1 + VariableByteInteger.Size(remaining) + remaining;
    }

    private static byte Flags(MqttPacket packet) => packet switch
    {
        MqttPublishPacket p => (byte)((p.Duplicate ? 0x08 : 0) | (int)p.QualityOfService << 1 | (p.Retain ? 1 : 0)),
        MqttPublishResponsePacket { Type: MqttPacketType.PubRel } => 0x02,
        MqttSubscribePacket or MqttUnsubscribePacket => 0x02,
        _ => 0,
    };

    private static int Props(MqttProperties? properties, bool v5) => v5 ? MqttProperties.BlockSize(properties, out _) : 0;

    private static int MeasureBody(MqttPacket packet, bool v5)
    {
        switch (packet)
        {
            case MqttConnectPacket c:
                int size = 6 + 1 + 1 + 2 + Props(c.Properties, c.ProtocolVersion == MqttProtocolVersion.V500) + StringSize(c.ClientId);
                if (c.Will is { } will)
                    size += Props(will.Properties, c.ProtocolVersion == MqttProtocolVersion.V500) + StringSize(will.Topic) + 2 + will.Payload.Length;
                if (c.UserName is not null) size += StringSize(c.UserName);
                if (c.Password is { } password) size += 2 + password.Length;
                return size;
            case MqttConnAckPacket a:
                return 2 + Props(a.Properties, v5);
            case MqttPublishPacket p:
                return StringSize(p.Topic) + (p.QualityOfService == MqttQualityOfService.AtMostOnce ? 0 : 2) + Props(p.Properties, v5) + p.Payload.Length;
            case MqttPublishResponsePacket r:
                if (!v5 || r.ReasonCode == MqttReasonCode.Success && r.Properties is null) return 2;
                return r.Properties is null ? 3 : 3 + Props(r.Properties, v5);
            case MqttSubscribePacket s:
                return 2 + Props(s.Properties, v5) + s.Subscriptions.Sum(x => StringSize(x.Filter) + 1);
            case MqttUnsubscribePacket u:
                return 2 + Props(u.Properties, v5) + u.Filters.Sum(StringSize);
            case MqttSubscribeAckPacket a:
                return 2 + Props(a.Properties, v5) + (v5 || a.Type == MqttPacketType.SubAck ? a.ReasonCodes.Count : 0);
            case MqttPingPacket:
                return 0;
            case MqttDisconnectPacket d:
                if (!v5 || d.ReasonCode == MqttReasonCode.Success && d.Properties is null) return 0;
                return d.Properties is null ? 1 : 1 + Props(d.Properties, v5);
            default:
                throw new ArgumentException($"cannot encode {packet.GetType().Name}", nameof(packet));
        }
    }

    private static void WriteBody(ref MqttWriter w, MqttPacket packet, bool v5)
    {
        switch (packet)
        {
            case MqttConnectPacket c: WriteConnect(ref w, c); break;
            case MqttConnAckPacket a:
                w.WriteByte(a.SessionPresent ? (byte)1 : (byte)0);
                w.WriteByte(v5 ? (byte)a.ReasonCode : MqttReasonCodes.ToConnectReturnCode(a.ReasonCode));
                WriteProps(ref w, a.Properties, v5);
                break;
            case MqttPublishPacket p:
                w.WriteString(p.Topic);
                if (p.QualityOfService != MqttQualityOfService.AtMostOnce) w.WriteUInt16(p.PacketId);
                WriteProps(ref w, p.Properties, v5);
                w.WriteBytes(p.Payload.Span);
                break;
            case MqttPublishResponsePacket r:
                w.WriteUInt16(r.PacketId);
                if (!v5 || r.ReasonCode == MqttReasonCode.Success && r.Properties is null) break;
                w.WriteByte((byte)r.ReasonCode);
                if (r.Properties is not null) WriteProps(ref w, r.Properties, v5);
                break;
            case MqttSubscribePacket s:
                w.WriteUInt16(s.PacketId);
                WriteProps(ref w, s.Properties, v5);
                foreach (var x in s.Subscriptions)
                {
                    w.WriteString(x.Filter);
                    w.WriteByte((byte)((int)x.MaximumQoS | (x.NoLocal ? 0x04 : 0) | (x.RetainAsPublished ? 0x08 : 0) | (int)x.RetainHandling << 4));
                }
                break;
            case MqttUnsubscribePacket u:
                w.WriteUInt16(u.PacketId);
                WriteProps(ref w, u.Properties, v5);
                foreach (var filter in u.Filters) w.WriteString(filter);
                break;
            case MqttSubscribeAckPacket a:
                w.WriteUInt16(a.PacketId);
                WriteProps(ref w, a.Properties, v5);
                if (!v5 && a.Type == MqttPacketType.UnsubAck) break;
                foreach (var code in a.ReasonCodes) w.WriteByte(v5 ? (byte)code : MqttReasonCodes.ToSubAckReturnCode(code));
                break;
            case MqttDisconnectPacket d:
                if (!v5 || d.ReasonCode == MqttReasonCode.Success && d.Properties is null) break;
                w.WriteByte((byte)d.ReasonCode);
                if (d.Properties is not null) WriteProps(ref w, d.Properties, v5);
                break;
        }
    }

    private static void WriteConnect(ref MqttWriter w, MqttConnectPacket c)
    {
        bool v5 = c.ProtocolVersion == MqttProtocolVersion.V500;
        w.WriteString("MQTT");
        w.WriteByte((byte)c.ProtocolVersion);
        int flags = (c.CleanStart ? 0x02 : 0) | (c.UserName is not null ? 0x80 : 0) | (c.Password is not null ? 0x40 : 0);
        if (c.Will is { } will) flags |= 0x04 | (int)will.QualityOfService << 3 | (will.Retain ? 0x20 : 0);
        w.WriteByte((byte)flags);
        w.WriteUInt16(c.KeepAlive);
        WriteProps(ref w, c.Properties, v5);
        w.WriteString(c.ClientId);
        if (c.Will is { } message)
        {
            WriteProps(ref w, message.Properties, v5);
            w.WriteString(message.Topic);
            w.WriteBinary(message.Payload.Span);
        }
        if (c.UserName is not null) w.WriteString(c.UserName);
        if (c.Password is { } password) w.WriteBinary(password.Span);
    }

    private static void WriteProps(ref MqttWriter w, MqttProperties? properties, bool v5)
    {
        if (!v5) return;
        MqttProperties.BlockSize(properties, out int valuesSize);
        MqttProperties.WriteBlock(ref w, properties, valuesSize);
    }

    private static int StringSize(string value)
    {
        int size = Encoding.UTF8.GetByteCount(value);
        if (size > ushort.MaxValue) throw new ArgumentException($"a string of {size} UTF-8 bytes is over MQTT's 65,535", nameof(value));
        return 2 + size;
    }
}
