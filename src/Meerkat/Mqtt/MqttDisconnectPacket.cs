namespace Meerkat.Mqtt;

/// <summary>DISCONNECT (MQTT 5.0 §3.14) or AUTH (§3.15): a reason code and properties.</summary>
public sealed class MqttDisconnectPacket : MqttPacket
{
    /// <summary>Creates a DISCONNECT, or an AUTH when <paramref name="isAuth"/>.</summary>
    public MqttDisconnectPacket(MqttReasonCode reasonCode = MqttReasonCode.Success, MqttProperties? properties = null, bool isAuth = false)
    {
        ReasonCode = reasonCode;
        Properties = properties;
        Type = isAuth ? MqttPacketType.Auth : MqttPacketType.Disconnect;
    }

    /// <inheritdoc/>
    public override MqttPacketType Type { get; }

    /// <summary>Why (0: normal disconnection; 4: disconnect with will message; 0x80+: an error).</summary>
    public MqttReasonCode ReasonCode { get; }

    /// <summary>5.0 properties (session expiry, reason string, server reference).</summary>
    public MqttProperties? Properties { get; }
}
