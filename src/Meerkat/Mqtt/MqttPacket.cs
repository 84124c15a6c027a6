namespace Meerkat.Mqtt;

/// <summary>
/// A decoded MQTT control packet, or one to encode. One class per packet type; fields a protocol
/// version lacks (properties and reason codes in 3.1.1) are ignored when writing for it.
/// </summary>
public abstract class MqttPacket
{
    /// <summary>The control packet type.</summary>
    public abstract MqttPacketType Type { get; }
}

/// <summary>PINGREQ or PINGRESP (no variable header, no payload).</summary>
public sealed class MqttPingPacket : MqttPacket
{
    private readonly MqttPacketType type;

    private MqttPingPacket(MqttPacketType type) => this.type = type;

    /// <summary>The PINGREQ packet.</summary>
    public static MqttPingPacket Request { get; } = new(MqttPacketType.PingReq);

    /// <summary>The PINGRESP packet.</summary>
    public static MqttPingPacket Response { get; } = new(MqttPacketType.PingResp);

    /// <inheritdoc/>
    public override MqttPacketType Type => type;
}
