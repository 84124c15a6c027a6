namespace Meerkat.Mqtt;

/// <summary>PUBACK, PUBREC, PUBREL or PUBCOMP (MQTT 5.0 §3.4-3.7): a step of a QoS 1 or 2 handshake.</summary>
public sealed class MqttPublishResponsePacket : MqttPacket
{
    /// <summary>Creates a response of the given type (PubAck, PubRec, PubRel or PubComp).</summary>
    public MqttPublishResponsePacket(MqttPacketType type, ushort packetId, MqttReasonCode reasonCode = MqttReasonCode.Success, MqttProperties? properties = null)
    {
        if (type is not (MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp))
            throw new ArgumentException($"{type} is not a publish response", nameof(type));
        Type = type;
        PacketId = packetId;
        ReasonCode = reasonCode;
        Properties = properties;
    }

    /// <inheritdoc/>
    public override MqttPacketType Type { get; }

    /// <summary>The packet identifier of the PUBLISH it answers.</summary>
    public ushort PacketId { get; }

    /// <summary>The result (5.0; always success in 3.1.1).</summary>
    public MqttReasonCode ReasonCode { get; }

    /// <summary>5.0 properties (reason string, user properties).</summary>
    public MqttProperties? Properties { get; }
}
