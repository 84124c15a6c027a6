namespace Meerkat.Mqtt;

/// <summary>The control packet types (MQTT 5.0 §2.1.2); the high four bits of the first byte.</summary>
public enum MqttPacketType : byte
{
    /// <summary>Client request to connect.</summary>
    Connect = 1,
    /// <summary>Connect acknowledgement.</summary>
    ConnAck = 2,
    /// <summary>An application message.</summary>
    Publish = 3,
    /// <summary>QoS 1 acknowledgement.</summary>
    PubAck = 4,
    /// <summary>QoS 2 delivery, part 1 (publish received).</summary>
    PubRec = 5,
    /// <summary>QoS 2 delivery, part 2 (publish release).</summary>
    PubRel = 6,
    /// <summary>QoS 2 delivery, part 3 (publish complete).</summary>
    PubComp = 7,
    /// <summary>Subscribe request.</summary>
    Subscribe = 8,
    /// <summary>Subscribe acknowledgement.</summary>
    SubAck = 9,
    /// <summary>Unsubscribe request.</summary>
    Unsubscribe = 10,
    /// <summary>Unsubscribe acknowledgement.</summary>
    UnsubAck = 11,
    /// <summary>Ping request.</summary>
    PingReq = 12,
    /// <summary>Ping response.</summary>
    PingResp = 13,
    /// <summary>Disconnect notification.</summary>
    Disconnect = 14,
    /// <summary>Authentication exchange (5.0 only).</summary>
    Auth = 15,
}
