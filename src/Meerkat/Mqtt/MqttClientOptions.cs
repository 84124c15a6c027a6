// How this file works: the settings of an MQTT client session, one plain class with a safe
// default for every value. Zero TimeSpans switch a feature off where said.
using Meerkat.Tls;
using Meerkat.WebSockets;

namespace Meerkat.Mqtt;

/// <summary>Settings of an MQTT client (<see cref="MqttClientSession"/>, <see cref="MqttClient"/>).</summary>
public sealed class MqttClientOptions
{
    /// <summary>The broker: <c>mqtt://host[:1883]</c>, <c>mqtts://host[:8883]</c>, <c>ws://host[:80]/path</c> or <c>wss://host[:443]/path</c>.</summary>
    public string Url { get; set; } = "mqtt://127.0.0.1:1883";

    /// <summary>Protocol version to speak. Default 5.0.</summary>
    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;

    /// <summary>The client identifier; empty (default) lets the broker assign one (5.0) or requires <see cref="CleanStart"/> (3.1.1).</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>Start a new session (default true); false resumes the broker's stored session for <see cref="ClientId"/>.</summary>
    public bool CleanStart { get; set; } = true;

    /// <summary>5.0: how long the broker keeps the session after a disconnect (0, the default, ends it with the connection;
    /// <see cref="uint.MaxValue"/>: never). In 3.1.1 a session persists exactly when <see cref="CleanStart"/> is false.</summary>
    public uint SessionExpiryInterval { get; set; }

    /// <summary>Keep Alive: a PINGREQ goes out when nothing was sent for this long (default 60 s; zero: off). The broker may impose another value (5.0 Server Keep Alive).</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for PINGRESP before taking the connection for dead (default 10 s).</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for CONNACK after the transport is up (default 10 s).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>User Name, or null.</summary>
    public string? UserName { get; set; }

    /// <summary>Password, or null.</summary>
    public ReadOnlyMemory<byte>? Password { get; set; }

    /// <summary>The will message the broker publishes if this client goes away without DISCONNECT (5.0: after its Will Delay Interval property).</summary>
    public MqttApplicationMessage? Will { get; set; }

    /// <summary>5.0 enhanced authentication (§4.12): the Authentication Method sent in CONNECT (for example
    /// <c>SCRAM-SHA-256</c>); null (default) for none. The broker refuses an unknown one with CONNACK 0x8C.</summary>
    public string? AuthenticationMethod { get; set; }

    /// <summary>5.0: the Authentication Data sent in CONNECT with <see cref="AuthenticationMethod"/> (the method's first message), or null.</summary>
    public ReadOnlyMemory<byte>? AuthenticationData { get; set; }

    /// <summary>5.0: answers the broker's rounds of enhanced authentication: called for each AUTH 0x18 with the broker's
    /// data (return <see cref="MqttAuthenticationResult.Continue"/> with the reply, or <see cref="MqttAuthenticationResult.Fail"/>
    /// to disconnect with that code), and once the broker ends an exchange with success (CONNACK or AUTH 0x00;
    /// <see cref="MqttAuthenticationExchange.IsComplete"/> set, its final data in <see cref="MqttAuthenticationExchange.Data"/>):
    /// return <see cref="MqttAuthenticationResult.Success"/> to accept the broker, or a failure to disconnect. Null: a broker
    /// asking for another round gets DISCONNECT 0x8C. Runs on the loop thread.</summary>
    public Func<MqttAuthenticationExchange, MqttAuthenticationResult>? EnhancedAuthentication { get; set; }

    /// <summary>5.0: QoS 1 and 2 messages the client accepts at once (Receive Maximum). Default 65,535.</summary>
    public ushort ReceiveMaximum { get; set; } = ushort.MaxValue;

    /// <summary>Outgoing QoS 1 and 2 messages in flight at once (further ones wait); the broker's Receive Maximum lowers it. Default 100.</summary>
    public int MaxInflight { get; set; } = 100;

    /// <summary>Messages waiting to be sent (while disconnected, or beyond the in-flight window) before <c>Publish</c> refuses more. Default 10,000.</summary>
    public int MaxPendingMessages { get; set; } = 10_000;

    /// <summary>5.0: topic aliases the broker may use toward us (Topic Alias Maximum). Default 16.</summary>
    public ushort TopicAliasMaximum { get; set; } = 16;

    /// <summary>5.0: use topic aliases for outgoing messages when the broker allows them. Default true.</summary>
    public bool UseTopicAliases { get; set; } = true;

    /// <summary>Largest packet accepted from the broker (default 16 MiB); announced as Maximum Packet Size in 5.0.</summary>
    public int MaximumPacketSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>5.0: user properties sent with CONNECT.</summary>
    public List<MqttUserProperty>? UserProperties { get; set; }

    /// <summary>Reconnect after a lost connection (default true), waiting <see cref="ReconnectDelay"/>, doubling up to
    /// <see cref="MaxReconnectDelay"/>, each delay with up to 50% random jitter. A refused CONNECT (bad credentials...) is not retried.</summary>
    public bool AutoReconnect { get; set; } = true;

    /// <summary>First reconnect delay (default 1 s).</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reconnect delay (default 30 s).</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>TLS settings for <c>mqtts://</c> and <c>wss://</c> (default: verify against the system store).</summary>
    public TlsClientOptions? Tls { get; set; }

    /// <summary>WebSocket settings for <c>ws://</c> and <c>wss://</c> (the <c>mqtt</c> subprotocol is always offered).</summary>
    public WebSocketClientOptions? WebSocket { get; set; }

    internal void Validate()
    {
        if (ProtocolVersion is not (MqttProtocolVersion.V311 or MqttProtocolVersion.V500))
            throw new ArgumentException("MqttClientOptions.ProtocolVersion must be V311 or V500");
        ArgumentNullException.ThrowIfNull(ClientId);
        if (ClientId.Length == 0 && !CleanStart && ProtocolVersion == MqttProtocolVersion.V311)
            throw new ArgumentException("a 3.1.1 client without a ClientId must use CleanStart (3.1.1 §3.1.3.1)");
        if (KeepAlive < TimeSpan.Zero || KeepAlive.TotalSeconds > ushort.MaxValue) throw new ArgumentException("MqttClientOptions.KeepAlive must be 0 to 65,535 s");
        if (PingTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero) throw new ArgumentException("MqttClientOptions.PingTimeout and ConnectTimeout must be positive");
        if (ReceiveMaximum == 0 || MaxInflight < 1 || MaxInflight > ushort.MaxValue || MaxPendingMessages < 0)
            throw new ArgumentException("MqttClientOptions.ReceiveMaximum and MaxInflight must be 1 to 65,535 and MaxPendingMessages not negative");
        if (MaximumPacketSize < 64) throw new ArgumentException("MqttClientOptions.MaximumPacketSize must be at least 64");
        if (ReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < ReconnectDelay) throw new ArgumentException("MqttClientOptions reconnect delays must be positive, the maximum at least the first");
        if ((AuthenticationMethod is not null || AuthenticationData is not null) && ProtocolVersion != MqttProtocolVersion.V500)
            throw new ArgumentException("MqttClientOptions.AuthenticationMethod is MQTT 5.0 only");
        if (AuthenticationData is not null && AuthenticationMethod is null) throw new ArgumentException("MqttClientOptions.AuthenticationData needs an AuthenticationMethod");
        if (Will is { } will && !MqttTopic.IsValidName(will.Topic)) throw new ArgumentException($"the will topic '{will.Topic}' is not a valid topic name");
    }
}
