namespace Meerkat.Mqtt;

/// <summary>How an outgoing message ended.</summary>
public enum MqttDeliveryOutcome
{
    /// <summary>Not ended yet: queued or in flight.</summary>
    Pending,
    /// <summary>QoS 0: written to the connection. QoS 1: PUBACK received. QoS 2: PUBCOMP received. <see cref="MqttDelivery.ReasonCode"/>
    /// may still say 0x10 (no matching subscribers).</summary>
    Delivered,
    /// <summary>The broker answered with a failure reason code (5.0), or the message could not be sent to it (too large, a QoS it refuses).</summary>
    Rejected,
    /// <summary>The session ended (disconnected for good, disposed) before the message was acknowledged: it may or may not have arrived.</summary>
    NotDelivered,
}

/// <summary>
/// One outgoing application message and where it stands: the subject of <see cref="EventKind.MqttPublishDone"/>,
/// and what <see cref="MqttClientSession.Publish(MqttApplicationMessage)"/> returns. Every delivery ends exactly once
/// (<see cref="Outcome"/> leaves <see cref="MqttDeliveryOutcome.Pending"/>).
/// </summary>
public sealed class MqttDelivery
{
    internal enum Stage { Queued, AwaitingPubAck, AwaitingPubRec, AwaitingPubComp, Done }

    internal MqttDelivery(MqttApplicationMessage message) => Message = message;

    /// <summary>The message.</summary>
    public MqttApplicationMessage Message { get; }

    /// <summary>The packet identifier of its current attempt (0 for QoS 0 or before it is sent).</summary>
    public ushort PacketId { get; internal set; }

    /// <summary>How it ended, or <see cref="MqttDeliveryOutcome.Pending"/>.</summary>
    public MqttDeliveryOutcome Outcome { get; internal set; }

    /// <summary>The broker's reason code (5.0), or what went wrong locally.</summary>
    public MqttReasonCode ReasonCode { get; internal set; }

    /// <summary>The broker's reason string (5.0), or a local explanation; null when none.</summary>
    public string? Reason { get; internal set; }

    internal Stage Step { get; set; }

    /// <summary>When it was queued, in the core's milliseconds: its Message Expiry Interval runs from here.</summary>
    internal long QueuedAt { get; init; }

    /// <summary>Called once when the delivery ends (the facade's task), on the loop thread.</summary>
    internal Action<MqttDelivery>? Completed { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"{Message} #{PacketId}: {Outcome} (0x{(byte)ReasonCode:X2})";
}

/// <summary>A SUBSCRIBE or UNSUBSCRIBE and its answer: the subject of <see cref="EventKind.MqttSubAck"/> and <see cref="EventKind.MqttUnsubAck"/>.</summary>
public sealed class MqttSubscribeRequest
{
    internal MqttSubscribeRequest(List<MqttSubscription> subscriptions, List<string> filters, MqttProperties? properties, bool isUnsubscribe)
    {
        Subscriptions = subscriptions;
        Filters = filters;
        Properties = properties;
        IsUnsubscribe = isUnsubscribe;
    }

    /// <summary>True for UNSUBSCRIBE.</summary>
    public bool IsUnsubscribe { get; }

    /// <summary>The subscriptions asked for (SUBSCRIBE).</summary>
    public IReadOnlyList<MqttSubscription> Subscriptions { get; }

    /// <summary>The filters (both kinds).</summary>
    public IReadOnlyList<string> Filters { get; }

    /// <summary>5.0 properties sent (subscription identifier, user properties).</summary>
    public MqttProperties? Properties { get; }

    /// <summary>The packet identifier of its current attempt.</summary>
    public ushort PacketId { get; internal set; }

    /// <summary>The broker's reason codes, one per filter (empty for a 3.1.1 UNSUBACK); null until answered or when the session ended first.</summary>
    public IReadOnlyList<MqttReasonCode>? ReasonCodes { get; internal set; }

    /// <summary>True once answered or abandoned.</summary>
    public bool IsDone { get; internal set; }

    internal Action<MqttSubscribeRequest>? Completed { get; set; }

    internal bool IsInternal { get; init; }
}
