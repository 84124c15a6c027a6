namespace Meerkat.Mqtt;

/// <summary>PUBLISH (MQTT 5.0 §3.3): an application message in transit.</summary>
public sealed class MqttPublishPacket : MqttPacket
{
    /// <inheritdoc/>
    public override MqttPacketType Type => MqttPacketType.Publish;

    /// <summary>The topic name; empty in a 5.0 packet that uses only a topic alias.</summary>
    public string Topic { get; set; } = string.Empty;

    /// <summary>The payload. In a decoded packet it points into the reader's buffer: copy it to keep it.</summary>
    public ReadOnlyMemory<byte> Payload { get; set; }

    /// <summary>QoS of this transfer.</summary>
    public MqttQualityOfService QualityOfService { get; set; }

    /// <summary>RETAIN flag.</summary>
    public bool Retain { get; set; }

    /// <summary>DUP flag: a resend of an earlier attempt.</summary>
    public bool Duplicate { get; set; }

    /// <summary>Packet identifier (QoS 1 and 2 only).</summary>
    public ushort PacketId { get; set; }

    /// <summary>5.0 properties.</summary>
    public MqttProperties? Properties { get; set; }
}
