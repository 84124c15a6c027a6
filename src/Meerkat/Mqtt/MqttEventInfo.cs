namespace Meerkat.Mqtt;

/// <summary>
/// What an MQTT event carries beside <see cref="Event.Data"/> (read it as <c>e.Mqtt</c>). One object per
/// session, refilled for each event: valid only during the callback; copy what you keep.
/// </summary>
public sealed class MqttEventInfo
{
    internal MqttEventInfo(MqttClientSession session) => Session = session;

    /// <summary>The client session that raised the event.</summary>
    public MqttClientSession Session { get; }

    /// <summary>For <see cref="EventKind.MqttConnAck"/>: the broker's answer.</summary>
    public MqttConnAckPacket? ConnAck { get; private set; }

    /// <summary>For <see cref="EventKind.MqttMessage"/>: the PUBLISH (topic resolved from its alias; payload = <see cref="Event.Data"/>).</summary>
    public MqttPublishPacket? Publish { get; private set; }

    /// <summary>For <see cref="EventKind.MqttPublishDone"/>: the delivery and how it ended.</summary>
    public MqttDelivery? Delivery { get; private set; }

    /// <summary>For <see cref="EventKind.MqttSubAck"/> and <see cref="EventKind.MqttUnsubAck"/>: the request and its reason codes.</summary>
    public MqttSubscribeRequest? Request { get; private set; }

    /// <summary>For <see cref="EventKind.MqttDisconnect"/>: the broker's DISCONNECT.</summary>
    public MqttDisconnectPacket? Disconnect { get; private set; }

    /// <summary>For <see cref="EventKind.MqttMessage"/>: the topic.</summary>
    public string? Topic => Publish?.Topic;

    internal MqttEventInfo Set(MqttConnAckPacket? connAck = null, MqttPublishPacket? publish = null, MqttDelivery? delivery = null,
        MqttSubscribeRequest? request = null, MqttDisconnectPacket? disconnect = null)
    {
        ConnAck = connAck;
        Publish = publish;
        Delivery = delivery;
        Request = request;
        Disconnect = disconnect;
        return this;
    }
}

/// <summary>MQTT views of an <see cref="Event"/>.</summary>
public static class MqttEventExtensions
{
    extension(Event e)
    {
        /// <summary>What an MQTT event carries; null for other events. Valid only during the callback.</summary>
        public MqttEventInfo? Mqtt => e.Subject as MqttEventInfo;
    }
}
