namespace Meerkat.Mqtt;

/// <summary>
/// The peer broke the MQTT protocol, or a limit was hit: <see cref="ReasonCode"/> is what a 5.0
/// endpoint sends in DISCONNECT (or CONNACK); a 3.1.1 endpoint just closes the connection.
/// </summary>
public sealed class MqttProtocolException : MeerkatException
{
    /// <summary>Creates the exception.</summary>
    public MqttProtocolException(MqttReasonCode reasonCode, string message) : base(message) => ReasonCode = reasonCode;

    /// <summary>The reason code that names the problem (0x81 malformed packet, 0x82 protocol error, ...).</summary>
    public MqttReasonCode ReasonCode { get; }

    internal static MqttProtocolException Malformed(string message) => new(MqttReasonCode.MalformedPacket, message);

    internal static MqttProtocolException Protocol(string message) => new(MqttReasonCode.ProtocolError, message);
}
