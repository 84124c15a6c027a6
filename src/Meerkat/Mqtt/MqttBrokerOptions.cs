// How this file works: the settings of an embedded broker, one plain class with a safe default
// for every limit, and the hooks (authentication, enhanced authentication, per-topic authorization)
// with their contexts.
using System.Net;

namespace Meerkat.Mqtt;

/// <summary>What a client is allowed to do with a topic (see <see cref="MqttBrokerOptions.Authorize"/>).</summary>
public enum MqttTopicAction
{
    /// <summary>Publish to a topic name.</summary>
    Publish,
    /// <summary>Subscribe to a topic filter.</summary>
    Subscribe,
}

/// <summary>What the authentication hook sees of a CONNECT.</summary>
public sealed class MqttAuthenticationContext
{
    internal MqttAuthenticationContext(MqttConnectPacket connect, IPEndPoint? remote)
    {
        Connect = connect;
        RemoteEndPoint = remote;
    }

    /// <summary>The CONNECT packet (client id, user name, password, will, properties).</summary>
    public MqttConnectPacket Connect { get; }

    /// <summary>The client identifier.</summary>
    public string ClientId => Connect.ClientId;

    /// <summary>The user name, or null.</summary>
    public string? UserName => Connect.UserName;

    /// <summary>The password, or null.</summary>
    public ReadOnlyMemory<byte>? Password => Connect.Password;

    /// <summary>Where the client connects from.</summary>
    public IPEndPoint? RemoteEndPoint { get; }
}

/// <summary>What the authorization hook sees.</summary>
/// <param name="ClientId">The client.</param>
/// <param name="UserName">Its user name, or null.</param>
/// <param name="Action">Publish or subscribe.</param>
/// <param name="Topic">The topic name (publish) or filter (subscribe; a shared one as given, <c>$share/group/filter</c>).</param>
public readonly record struct MqttAuthorizationContext(string ClientId, string? UserName, MqttTopicAction Action, string Topic);

/// <summary>Settings of an <see cref="MqttBroker"/>. Build one, then do not change it while the broker runs.</summary>
public sealed class MqttBrokerOptions
{
    /// <summary>Decides on a CONNECT: return <see cref="MqttReasonCode.Success"/> to accept, or the refusal
    /// (<see cref="MqttReasonCode.BadUserNameOrPassword"/>, <see cref="MqttReasonCode.NotAuthorized"/>...). Null accepts everyone.
    /// Runs on the loop thread: do not block.</summary>
    public Func<MqttAuthenticationContext, MqttReasonCode>? Authenticate { get; set; }

    /// <summary>5.0 enhanced authentication (§4.12): called for a CONNECT that names an Authentication Method (step 0, with
    /// its Authentication Data), for each AUTH 0x18 of that exchange, and for a re-authentication (AUTH 0x19 from a client
    /// that authenticated so). Return <see cref="MqttAuthenticationResult.Continue"/> for another round (AUTH 0x18 with the
    /// data), <see cref="MqttAuthenticationResult.Success"/> (CONNACK 0x00, or AUTH 0x00 after a re-authentication, with
    /// the data if any), or <see cref="MqttAuthenticationResult.Fail"/> (CONNACK with the code, or DISCONNECT after a
    /// re-authentication); for a method it does not know, <c>Fail(MqttReasonCode.BadAuthenticationMethod)</c>. Null: a
    /// CONNECT naming a method gets CONNACK 0x8C. <see cref="Authenticate"/>, if set, runs first on the CONNECT. An
    /// exchange must end within <see cref="ConnectTimeout"/> of the connection's start. Runs on the loop thread: do not block.</summary>
    public Func<MqttAuthenticationExchange, MqttAuthenticationResult>? EnhancedAuthentication { get; set; }

    /// <summary>Decides per topic: false refuses the publish (5.0 PUBACK/PUBREC 0x87, else dropped) or the
    /// subscription (SUBACK failure). Null allows everything. Runs on the loop thread.</summary>
    public Func<MqttAuthorizationContext, bool>? Authorize { get; set; }

    /// <summary>A directory for the persistent store (retained messages, sessions, queued QoS 1/2 messages);
    /// null (default) keeps everything in memory only.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>MQTT clients connected at once; CONNECT beyond it is refused (0x97 quota exceeded / 3.1.1 server unavailable). Default 100,000.</summary>
    public int MaxConnections { get; set; } = 100_000;

    /// <summary>Largest packet accepted (announced as Maximum Packet Size in 5.0); a bigger one ends the connection with 0x95. Default 16 MiB.</summary>
    public int MaximumPacketSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>Messages queued per session while its client is offline or its in-flight window is full; beyond it new messages
    /// for that session are dropped. Default 1,000.</summary>
    public int MaxQueuedMessages { get; set; } = 1_000;

    /// <summary>QoS 1/2 messages sent to a client and not yet acknowledged (the client's Receive Maximum may lower it),
    /// and QoS 2 messages accepted from it at once (announced as Receive Maximum). Default 100.</summary>
    public int MaxInflightMessages { get; set; } = 100;

    /// <summary>5.0: topic aliases a client may use toward the broker. Default 10.</summary>
    public ushort TopicAliasMaximum { get; set; } = 10;

    /// <summary>Longest Keep Alive accepted; a longer (or zero) one is replaced and announced as Server Keep Alive (5.0). Default zero: the client's value stands.</summary>
    public TimeSpan MaxKeepAlive { get; set; }

    /// <summary>How long a new connection may take to send CONNECT. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Called when a client's session starts (after CONNACK), on the loop thread.</summary>
    public Action<MqttBrokerClientInfo>? ClientConnected { get; set; }

    /// <summary>Called when a client's connection ends, on the loop thread.</summary>
    public Action<MqttBrokerClientInfo>? ClientDisconnected { get; set; }

    /// <summary>Called for each message a client published and the broker accepted, before it is routed; the payload
    /// is valid only during the call. On the loop thread.</summary>
    public Action<MqttBrokerClientInfo, MqttPublishPacket>? MessagePublished { get; set; }

    internal void Validate()
    {
        if (MaxConnections < 1 || MaximumPacketSize < 64 || MaxQueuedMessages < 0 || MaxInflightMessages is < 1 or > ushort.MaxValue)
            throw new ArgumentException("MqttBrokerOptions: MaxConnections >= 1, MaximumPacketSize >= 64, MaxQueuedMessages >= 0, MaxInflightMessages 1-65,535");
        if (ConnectTimeout <= TimeSpan.Zero || MaxKeepAlive < TimeSpan.Zero || MaxKeepAlive.TotalSeconds > ushort.MaxValue)
            throw new ArgumentException("MqttBrokerOptions: ConnectTimeout must be positive and MaxKeepAlive 0-65,535 s");
    }
}

/// <summary>A connected client as the broker's callbacks see it.</summary>
/// <param name="ClientId">The client identifier (assigned by the broker when the client sent none).</param>
/// <param name="UserName">Its user name, or null.</param>
/// <param name="ProtocolVersion">3.1.1 or 5.0.</param>
/// <param name="RemoteEndPoint">Where it connects from.</param>
public sealed record MqttBrokerClientInfo(string ClientId, string? UserName, MqttProtocolVersion ProtocolVersion, IPEndPoint? RemoteEndPoint);
