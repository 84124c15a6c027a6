namespace Meerkat.Mqtt;

/// <summary>CONNACK (MQTT 5.0 §3.2): the server's answer to CONNECT.</summary>
public sealed class MqttConnAckPacket : MqttPacket
{
    /// <inheritdoc/>
    public override MqttPacketType Type => MqttPacketType.ConnAck;

    /// <summary>True when the server resumed a stored session.</summary>
    public bool SessionPresent { get; set; }

    /// <summary>The result; a 3.1.1 return code is translated (see <see cref="MqttReasonCodes"/>).</summary>
    public MqttReasonCode ReasonCode { get; set; }

    /// <summary>5.0 properties (assigned client id, limits the server imposes...).</summary>
    public MqttProperties? Properties { get; set; }
}
