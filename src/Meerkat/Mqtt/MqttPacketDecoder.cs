// How this file works: turns one framed packet into its MqttPacket, reading the layout of each
// type straight down (MQTT 5.0 §3, 3.1.1 §3) and rejecting what the spec calls malformed (0x81)
// or a protocol error (0x82) by throwing MqttProtocolException with that code. Rules that need
// session state (topic aliases, packet identifiers in use, receive maximum) belong to the
// endpoint, not here.
using System.Text;

namespace Meerkat.Mqtt;

/// <summary>Decodes framed MQTT packets (see <see cref="MqttFrameReader"/>).</summary>
internal static class MqttPacketDecoder
{
    /// <summary>Decodes a packet of the given protocol version (CONNECT carries its own).</summary>
    /// <exception cref="MqttProtocolException">The packet is malformed or breaks the protocol; the code says which.</exception>
    public static MqttPacket Decode(MqttFrame frame, MqttProtocolVersion version) => Decode(frame, version, null);

    /// <summary>As <see cref="Decode(MqttFrame, MqttProtocolVersion)"/>, taking PUBLISH topic strings from a cache.</summary>
    internal static MqttPacket Decode(MqttFrame frame, MqttProtocolVersion version, MqttTopicCache? topics)
    {
        bool v5 = version == MqttProtocolVersion.V500;
        var reader = new MqttReader(frame.Body);
        MqttPacket packet = frame.Type switch
        {
            MqttPacketType.Connect => DecodeConnect(ref reader, frame.Flags),
            MqttPacketType.ConnAck => DecodeConnAck(ref reader, frame.Flags, v5),
            MqttPacketType.Publish => DecodePublish(ref reader, frame.Flags, v5, topics),
            MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp => DecodePublishResponse(ref reader, frame, v5),
            MqttPacketType.Subscribe => DecodeSubscribe(ref reader, frame.Flags, v5),
            MqttPacketType.SubAck or MqttPacketType.UnsubAck => DecodeSubscribeAck(ref reader, frame, v5),
            MqttPacketType.Unsubscribe => DecodeUnsubscribe(ref reader, frame.Flags, v5),
            MqttPacketType.PingReq => Empty(frame, MqttPingPacket.Request),
            MqttPacketType.PingResp => Empty(frame, MqttPingPacket.Response),
            MqttPacketType.Disconnect or MqttPacketType.Auth => DecodeDisconnect(ref reader, frame, v5),
            _ => throw MqttProtocolException.Malformed($"packet type {(int)frame.Type} is reserved"),
        };
        if (!reader.IsAtEnd) throw MqttProtocolException.Malformed($"{Name(frame.Type)} has {reader.Remaining} bytes after its end");
        return packet;
    }

    private static MqttPacket Empty(MqttFrame frame, MqttPacket packet)
    {
        RequireFlags(frame.Flags, 0, frame.Type);
        return frame.Body.IsEmpty ? packet : throw MqttProtocolException.Malformed($"{Name(frame.Type)} must have no body");
    }

    private static MqttConnectPacket DecodeConnect(ref MqttReader r, byte flags)
    {
        RequireFlags(flags, 0, MqttPacketType.Connect);
        var name = r.ReadBinary("the protocol name").Span;
        byte level = r.ReadByte();
        if (!name.SequenceEqual("MQTT"u8))
        {
            if (name.SequenceEqual("MQIsdp"u8)) throw new MqttProtocolException(MqttReasonCode.UnsupportedProtocolVersion, "MQTT 3.1 (MQIsdp) is not supported");
            throw MqttProtocolException.Protocol($"the protocol name is '{Encoding.Latin1.GetString(name)}', not 'MQTT'");
        }
        if (level is not (4 or 5)) throw new MqttProtocolException(MqttReasonCode.UnsupportedProtocolVersion, $"protocol level {level} is not supported (4 or 5)");
        var version = (MqttProtocolVersion)level;
        byte connectFlags = r.ReadByte();
        if ((connectFlags & 0x01) != 0) throw MqttProtocolException.Malformed("the reserved CONNECT flag is set");
        bool hasWill = (connectFlags & 0x04) != 0;
        int willQos = (connectFlags >> 3) & 0x03;
        bool willRetain = (connectFlags & 0x20) != 0;
        bool hasPassword = (connectFlags & 0x40) != 0, hasUserName = (connectFlags & 0x80) != 0;
        if (willQos == 3) throw MqttProtocolException.Malformed("the will QoS is 3");
        if (!hasWill && (willQos != 0 || willRetain)) throw MqttProtocolException.Malformed("will QoS or retain set without the will flag");
        if (version == MqttProtocolVersion.V311 && hasPassword && !hasUserName) throw MqttProtocolException.Malformed("a password without a user name (3.1.1)");
        var packet = new MqttConnectPacket
        {
            ProtocolVersion = version,
            CleanStart = (connectFlags & 0x02) != 0,
            KeepAlive = r.ReadUInt16(),
        };
        if (version == MqttProtocolVersion.V500) packet.Properties = MqttProperties.Read(ref r, MqttPacketType.Connect);
        packet.ClientId = r.ReadString("the client identifier");
        if (hasWill)
        {
            var willProperties = version == MqttProtocolVersion.V500 ? MqttProperties.Read(ref r, MqttProperties.WillProperties) : null;
            string topic = r.ReadString("the will topic");
            if (!MqttTopic.IsValidName(topic)) throw new MqttProtocolException(MqttReasonCode.TopicNameInvalid, $"the will topic '{topic}' is not a valid topic name");
            var payload = r.ReadBinary("the will payload").ToArray();
            packet.Will = new MqttApplicationMessage(topic, payload, (MqttQualityOfService)willQos, willRetain, willProperties);
        }
        if (hasUserName) packet.UserName = r.ReadString("the user name");
        if (hasPassword) packet.Password = r.ReadBinary("the password").ToArray();
        return packet;
    }

    private static MqttConnAckPacket DecodeConnAck(ref MqttReader r, byte flags, bool v5)
    {
        RequireFlags(flags, 0, MqttPacketType.ConnAck);
        byte ackFlags = r.ReadByte();
        if ((ackFlags & 0xFE) != 0) throw MqttProtocolException.Malformed("reserved CONNACK flags are set");
        byte code = r.ReadByte();
        var packet = new MqttConnAckPacket { SessionPresent = (ackFlags & 1) != 0 };
        if (v5)
        {
            packet.ReasonCode = (MqttReasonCode)code;
            packet.Properties = MqttProperties.Read(ref r, MqttPacketType.ConnAck);
        }
        else
        {
            packet.ReasonCode = MqttReasonCodes.FromConnectReturnCode(code) ?? throw MqttProtocolException.Malformed($"CONNACK return code {code} is not defined");
        }
        if (packet.SessionPresent && !packet.ReasonCode.IsSuccess()) throw MqttProtocolException.Protocol("a refusing CONNACK says a session is present");
        return packet;
    }

    private static MqttPublishPacket DecodePublish(ref MqttReader r, byte flags, bool v5, MqttTopicCache? topics)
    {
        var qos = (MqttQualityOfService)((flags >> 1) & 0x03);
        if ((int)qos == 3) throw MqttProtocolException.Malformed("PUBLISH with QoS 3");
        bool dup = (flags & 0x08) != 0;
        if (dup && qos == MqttQualityOfService.AtMostOnce) throw MqttProtocolException.Malformed("PUBLISH with DUP set at QoS 0");
        string topic = topics is null ? r.ReadString("the topic name") : topics.Get(r.ReadStringBytes("the topic name").Span);
        if (topic.Length == 0 ? !v5 : !MqttTopic.IsValidName(topic))
            throw new MqttProtocolException(MqttReasonCode.TopicNameInvalid, $"'{topic}' is not a valid topic name");
        var packet = new MqttPublishPacket { Topic = topic, QualityOfService = qos, Duplicate = dup, Retain = (flags & 0x01) != 0 };
        if (qos != MqttQualityOfService.AtMostOnce) packet.PacketId = ReadPacketId(ref r, MqttPacketType.Publish);
        if (v5) packet.Properties = MqttProperties.Read(ref r, MqttPacketType.Publish);
        if (topic.Length == 0 && packet.Properties?.TopicAlias is null) throw MqttProtocolException.Protocol("PUBLISH with neither a topic name nor a topic alias");
        packet.Payload = r.ReadRest();
        return packet;
    }

    private static MqttPublishResponsePacket DecodePublishResponse(ref MqttReader r, MqttFrame frame, bool v5)
    {
        RequireFlags(frame.Flags, frame.Type == MqttPacketType.PubRel ? (byte)0x02 : (byte)0, frame.Type);
        ushort id = ReadPacketId(ref r, frame.Type);
        var code = MqttReasonCode.Success;
        MqttProperties? properties = null;
        if (v5 && !r.IsAtEnd)
        {
            code = (MqttReasonCode)r.ReadByte();
            if (!r.IsAtEnd) properties = MqttProperties.Read(ref r, frame.Type);
            bool valid = frame.Type is MqttPacketType.PubRel or MqttPacketType.PubComp
                ? code is MqttReasonCode.Success or MqttReasonCode.PacketIdentifierNotFound
                : code is MqttReasonCode.Success or MqttReasonCode.NoMatchingSubscribers or MqttReasonCode.UnspecifiedError
                    or MqttReasonCode.ImplementationSpecificError or MqttReasonCode.NotAuthorized or MqttReasonCode.TopicNameInvalid
                    or MqttReasonCode.PacketIdentifierInUse or MqttReasonCode.QuotaExceeded or MqttReasonCode.PayloadFormatInvalid;
            if (!valid) throw MqttProtocolException.Protocol($"reason code 0x{(byte)code:X2} is not allowed in {Name(frame.Type)}");
        }
        return new MqttPublishResponsePacket(frame.Type, id, code, properties);
    }

    private static MqttSubscribePacket DecodeSubscribe(ref MqttReader r, byte flags, bool v5)
    {
        RequireFlags(flags, 0x02, MqttPacketType.Subscribe);
        var packet = new MqttSubscribePacket { PacketId = ReadPacketId(ref r, MqttPacketType.Subscribe) };
        if (v5) packet.Properties = MqttProperties.Read(ref r, MqttPacketType.Subscribe);
        do
        {
            string filter = r.ReadString("a topic filter");
            byte options = r.ReadByte();
            if ((options & 0x03) == 3) throw MqttProtocolException.Malformed("a subscription asks for QoS 3");
            if ((options & (v5 ? 0xC0 : 0xFC)) != 0) throw MqttProtocolException.Malformed("reserved subscription option bits are set");
            var retainHandling = (MqttRetainHandling)((options >> 4) & 0x03);
            if ((int)retainHandling == 3) throw MqttProtocolException.Protocol("Retain Handling 3 is reserved");
            bool noLocal = (options & 0x04) != 0;
            if (noLocal && MqttTopic.TrySplitShared(filter, out _, out _)) throw MqttProtocolException.Protocol("No Local on a shared subscription");
            packet.Subscriptions.Add(new MqttSubscription(filter, (MqttQualityOfService)(options & 0x03), noLocal, (options & 0x08) != 0, retainHandling));
        }
        while (!r.IsAtEnd);
        return packet;
    }

    private static MqttUnsubscribePacket DecodeUnsubscribe(ref MqttReader r, byte flags, bool v5)
    {
        RequireFlags(flags, 0x02, MqttPacketType.Unsubscribe);
        var packet = new MqttUnsubscribePacket { PacketId = ReadPacketId(ref r, MqttPacketType.Unsubscribe) };
        if (v5) packet.Properties = MqttProperties.Read(ref r, MqttPacketType.Unsubscribe);
        do packet.Filters.Add(r.ReadString("a topic filter"));
        while (!r.IsAtEnd);
        return packet;
    }

    private static MqttSubscribeAckPacket DecodeSubscribeAck(ref MqttReader r, MqttFrame frame, bool v5)
    {
        RequireFlags(frame.Flags, 0, frame.Type);
        bool isUnsubscribe = frame.Type == MqttPacketType.UnsubAck;
        ushort id = ReadPacketId(ref r, frame.Type);
        var properties = v5 ? MqttProperties.Read(ref r, frame.Type) : null;
        var codes = new List<MqttReasonCode>();
        while (!r.IsAtEnd)
        {
            byte code = r.ReadByte();
            if (!v5 && code is not (0 or 1 or 2 or 0x80)) throw MqttProtocolException.Malformed($"SUBACK return code 0x{code:X2} is not defined");
            codes.Add((MqttReasonCode)code);
        }
        if (codes.Count == 0 && (v5 || !isUnsubscribe)) throw MqttProtocolException.Protocol($"{Name(frame.Type)} without reason codes");
        return new MqttSubscribeAckPacket(isUnsubscribe, id, codes, properties);
    }

    private static MqttDisconnectPacket DecodeDisconnect(ref MqttReader r, MqttFrame frame, bool v5)
    {
        RequireFlags(frame.Flags, 0, frame.Type);
        bool isAuth = frame.Type == MqttPacketType.Auth;
        if (isAuth && !v5) throw MqttProtocolException.Malformed("AUTH is not a 3.1.1 packet");
        if (!v5 || r.IsAtEnd) return new MqttDisconnectPacket(isAuth: isAuth);
        var code = (MqttReasonCode)r.ReadByte();
        var properties = r.IsAtEnd ? null : MqttProperties.Read(ref r, frame.Type);
        if (isAuth && code is not (MqttReasonCode.Success or MqttReasonCode.ContinueAuthentication or MqttReasonCode.ReAuthenticate))
            throw MqttProtocolException.Protocol($"reason code 0x{(byte)code:X2} is not allowed in AUTH");
        return new MqttDisconnectPacket(code, properties, isAuth);
    }

    private static ushort ReadPacketId(ref MqttReader r, MqttPacketType type)
    {
        ushort id = r.ReadUInt16();
        return id != 0 ? id : throw MqttProtocolException.Protocol($"{Name(type)} has packet identifier 0");
    }

    private static void RequireFlags(byte flags, byte expected, MqttPacketType type)
    {
        if (flags != expected) throw MqttProtocolException.Malformed($"{Name(type)} has fixed header flags 0x{flags:X}, not 0x{expected:X}");
    }

    internal static string Name(MqttPacketType type) => type.ToString().ToUpperInvariant();
}
