namespace Meerkat.Mqtt;

/// <summary>The MQTT protocol level carried in CONNECT (3.1.1 §3.1.2.2, 5.0 §3.1.2.2).</summary>
public enum MqttProtocolVersion : byte
{
    /// <summary>Not known yet: a server before the first CONNECT.</summary>
    Unknown = 0,

    /// <summary>MQTT 3.1.1 (OASIS Standard, protocol level 4).</summary>
    V311 = 4,

    /// <summary>MQTT 5.0 (OASIS Standard, protocol level 5).</summary>
    V500 = 5,
}
