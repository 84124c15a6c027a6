namespace Meerkat.Mqtt;

/// <summary>When a subscription is sent retained messages (MQTT 5.0 §3.8.3.1).</summary>
public enum MqttRetainHandling : byte
{
    /// <summary>Send retained messages at the time of the subscribe.</summary>
    SendAtSubscribe = 0,
    /// <summary>Send them only if the subscription did not exist.</summary>
    SendAtSubscribeIfNew = 1,
    /// <summary>Do not send them.</summary>
    DoNotSend = 2,
}

/// <summary>One topic filter of a SUBSCRIBE with its options.</summary>
/// <param name="Filter">The topic filter (may be <c>$share/group/filter</c>).</param>
/// <param name="MaximumQoS">The highest QoS the subscriber accepts.</param>
/// <param name="NoLocal">5.0: do not send back messages this client published.</param>
/// <param name="RetainAsPublished">5.0: keep the RETAIN flag of forwarded messages.</param>
/// <param name="RetainHandling">5.0: when retained messages are sent.</param>
public readonly record struct MqttSubscription(string Filter, MqttQualityOfService MaximumQoS = MqttQualityOfService.AtMostOnce,
    bool NoLocal = false, bool RetainAsPublished = false, MqttRetainHandling RetainHandling = MqttRetainHandling.SendAtSubscribe);

/// <summary>SUBSCRIBE (MQTT 5.0 §3.8).</summary>
public sealed class MqttSubscribePacket : MqttPacket
{
    /// <inheritdoc/>
    public override MqttPacketType Type => MqttPacketType.Subscribe;

    /// <summary>Packet identifier.</summary>
    public ushort PacketId { get; set; }

    /// <summary>The filters, at least one.</summary>
    public List<MqttSubscription> Subscriptions { get; set; } = [];

    /// <summary>5.0 properties (subscription identifier, user properties).</summary>
    public MqttProperties? Properties { get; set; }
}

/// <summary>UNSUBSCRIBE (MQTT 5.0 §3.10).</summary>
public sealed class MqttUnsubscribePacket : MqttPacket
{
    /// <inheritdoc/>
    public override MqttPacketType Type => MqttPacketType.Unsubscribe;

    /// <summary>Packet identifier.</summary>
    public ushort PacketId { get; set; }

    /// <summary>The filters, at least one.</summary>
    public List<string> Filters { get; set; } = [];

    /// <summary>5.0 properties (user properties).</summary>
    public MqttProperties? Properties { get; set; }
}

/// <summary>SUBACK or UNSUBACK (MQTT 5.0 §3.9, §3.11): one reason code per filter.</summary>
public sealed class MqttSubscribeAckPacket : MqttPacket
{
    /// <summary>Creates a SUBACK (<paramref name="isUnsubscribe"/> false) or UNSUBACK.</summary>
    public MqttSubscribeAckPacket(bool isUnsubscribe, ushort packetId, List<MqttReasonCode> reasonCodes, MqttProperties? properties = null)
    {
        Type = isUnsubscribe ? MqttPacketType.UnsubAck : MqttPacketType.SubAck;
        PacketId = packetId;
        ReasonCodes = reasonCodes;
        Properties = properties;
    }

    /// <inheritdoc/>
    public override MqttPacketType Type { get; }

    /// <summary>The identifier of the request it answers.</summary>
    public ushort PacketId { get; }

    /// <summary>One per filter, in order (SUBACK: granted QoS or failure; UNSUBACK 5.0: success or why not; a 3.1.1 UNSUBACK has none).</summary>
    public List<MqttReasonCode> ReasonCodes { get; }

    /// <summary>5.0 properties.</summary>
    public MqttProperties? Properties { get; }
}
