namespace Meerkat.Mqtt;

/// <summary>CONNECT (MQTT 5.0 §3.1, 3.1.1 §3.1): the first packet a client sends.</summary>
public sealed class MqttConnectPacket : MqttPacket
{
    /// <inheritdoc/>
    public override MqttPacketType Type => MqttPacketType.Connect;

    /// <summary>Protocol level: 4 (3.1.1) or 5 (5.0).</summary>
    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;

    /// <summary>Clean Start (5.0) / Clean Session (3.1.1).</summary>
    public bool CleanStart { get; set; } = true;

    /// <summary>Keep Alive in seconds; 0 turns the mechanism off.</summary>
    public ushort KeepAlive { get; set; }

    /// <summary>The client identifier; empty asks the server to assign one.</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>The will message, or null.</summary>
    public MqttApplicationMessage? Will { get; set; }

    /// <summary>User Name, or null.</summary>
    public string? UserName { get; set; }

    /// <summary>Password, or null.</summary>
    public ReadOnlyMemory<byte>? Password { get; set; }

    /// <summary>5.0 properties of the CONNECT itself (session expiry, receive maximum...).</summary>
    public MqttProperties? Properties { get; set; }
}
