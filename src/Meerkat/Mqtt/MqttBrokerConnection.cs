// How this file works: one client connection of the broker, without I/O of its own: bytes come in
// through Receive, packets go out through its IMqttLink. It frames and decodes packets, enforces
// the per-connection rules (CONNECT first and once, topic aliases, QoS 2 receive maximum, keep
// alive) and hands the session-level work (sessions, routing, retained messages) to MqttBroker.
//
// State machine:
//   AwaitingConnect  accepted, nothing valid received yet     -> Connected (CONNECT accepted: CONNACK 0)
//                                                             -> Authenticating (CONNECT names an Authentication
//                                                                Method and the hook asks for another round)
//                                                             -> Closed (refused, malformed, timed out)
//   Authenticating   AUTH 0x18 rounds of enhanced auth (§4.12) -> Connected (the hook's success: CONNACK 0)
//                                                             -> Closed (refused, protocol error, timed out)
//   Connected        packets flow                             -> Closed (DISCONNECT, protocol error, keep-alive
//                                                                timeout, taken over, failed re-authentication,
//                                                                transport closed)
//   Closed           the link is closing; input is ignored.
//
// Re-authentication (AUTH 0x19) runs while Connected, other packets flowing meanwhile; the exchange
// in progress (null when none) holds its steps.
//
// A protocol error is answered in 5.0 with DISCONNECT carrying its reason code (CONNACK with it
// when it is the CONNECT that is wrong); in 3.1.1 the connection is just closed (§4.13).
using System.Buffers;
using System.Net;

namespace Meerkat.Mqtt;

/// <summary>The transport under one broker connection: TCP, TLS or a WebSocket.</summary>
internal interface IMqttLink
{
    /// <summary>Where packets are written.</summary>
    IBufferWriter<byte> Output { get; }

    /// <summary>True when writes must be followed by <see cref="Flush"/> (a WebSocket sends one message per flush).</summary>
    bool NeedsFlush { get; }

    /// <summary>False while the transport's send buffer is over its high-water mark (QoS 0 messages are then dropped).</summary>
    bool IsWritable { get; }

    IPEndPoint? RemoteEndPoint { get; }

    void Flush();

    /// <summary>Closes after what was written is sent.</summary>
    void Close();
}

internal sealed class MqttBrokerConnection : IDisposable
{
    public enum ConnectionState { AwaitingConnect, Authenticating, Connected, Closed }

    private readonly MqttBroker broker;
    private readonly MqttFrameReader reader = new();
    private Dictionary<ushort, string>? incomingAliases; // made on the first alias the client sets
    private MqttBrokerClientInfo? info;
    private readonly MqttTopicCache topics;
    private bool isDirty;

    /// <summary>The CONNECT waiting for its enhanced authentication to end (Authenticating only).</summary>
    private MqttConnectPacket? pendingConnect;

    /// <summary>The enhanced authentication exchange in progress: the CONNECT's, or a re-authentication's; null when none.</summary>
    private MqttAuthenticationExchange? authentication;

    /// <summary>The identifier the broker gave a client that sent an empty one, or null.</summary>
    private string? assignedClientId;

    /// <summary>The Authentication Method the client connected with, or null (then AUTH is a protocol error).</summary>
    private string? authenticationMethod;

    public MqttBrokerConnection(MqttBroker broker, IMqttLink link, long now)
    {
        this.broker = broker;
        topics = broker.Topics;
        Link = link;
        OpenedAt = LastReceivedAt = now;
        reader.MaximumPacketSize = broker.Options.MaximumPacketSize;
    }

    public IMqttLink Link { get; }

    public ConnectionState State { get; private set; }

    public MqttProtocolVersion Version { get; private set; } = MqttProtocolVersion.Unknown;

    public MqttBrokerSession? Session { get; private set; }

    /// <summary>The CONNECT's user name, or null.</summary>
    public string? UserName { get; private set; }

    /// <summary>The client as the broker's callbacks see it (made when first asked for: an idle client of a broker
    /// without callbacks costs no such object). Null before CONNECT is accepted.</summary>
    public MqttBrokerClientInfo? Info => info ??= Session is { } session ? new MqttBrokerClientInfo(session.ClientId, UserName, Version, Link.RemoteEndPoint) : null;

    public long OpenedAt { get; }

    public long LastReceivedAt { get; private set; }

    /// <summary>Keep Alive in milliseconds (0: none).</summary>
    public long KeepAliveMs { get; private set; }

    /// <summary>The will, until it is published or discarded.</summary>
    public MqttApplicationMessage? Will { get; set; }

    /// <summary>How many QoS 1/2 messages may be in flight toward the client.</summary>
    public int SendWindow { get; private set; }

    /// <summary>The client's Maximum Packet Size (5.0).</summary>
    public long ClientMaximumPacketSize { get; private set; } = long.MaxValue;

    public bool IsReady => State == ConnectionState.Connected;

    // ------------------------------------------------------------------ input

    /// <summary>Handles received bytes (all of them are taken).</summary>
    public void Receive(ReadOnlyMemory<byte> data, long now)
    {
        if (State == ConnectionState.Closed) return;
        LastReceivedAt = now;
        try
        {
            while (State != ConnectionState.Closed && reader.TryRead(data, out int consumed, out var frame))
            {
                data = data[consumed..];
                if (State == ConnectionState.AwaitingConnect && frame.Type != MqttPacketType.Connect)
                    throw MqttProtocolException.Protocol($"the first packet is {MqttPacketDecoder.Name(frame.Type)}, not CONNECT");
                if (State == ConnectionState.Authenticating && frame.Type is not (MqttPacketType.Auth or MqttPacketType.Disconnect))
                    throw MqttProtocolException.Protocol($"{MqttPacketDecoder.Name(frame.Type)} before the authentication ended (only AUTH or DISCONNECT)");
                if (TryHandleShortResponse(frame, now)) continue;
                var packet = MqttPacketDecoder.Decode(frame, frame.Type == MqttPacketType.Connect ? MqttProtocolVersion.V500 : Version, topics);
                Handle(packet, now);
            }
        }
        catch (MqttProtocolException error)
        {
            Fail(error, now);
        }
    }

    /// <summary>The common acknowledgement (type, flags and a two byte packet identifier, success) handled
    /// without decoding it into an object; anything else goes through the decoder and its checks.</summary>
    private bool TryHandleShortResponse(MqttFrame frame, long now)
    {
        if (State != ConnectionState.Connected || frame.Body.Length != 2) return false;
        var type = frame.Type;
        if (type is not (MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp)) return false;
        if (frame.Flags != (type == MqttPacketType.PubRel ? 0x02 : 0)) return false;
        var body = frame.Body.Span;
        ushort id = (ushort)(body[0] << 8 | body[1]);
        if (id == 0) return false;
        if (type == MqttPacketType.PubRel)
        {
            bool known = broker.ReleaseReceivedQos2(Session!, id);
            WriteResponse(MqttPacketType.PubComp, id, known || Version != MqttProtocolVersion.V500 ? MqttReasonCode.Success : MqttReasonCode.PacketIdentifierNotFound);
        }
        else
        {
            broker.Acknowledge(Session!, type, id, MqttReasonCode.Success, now);
        }
        return true;
    }

    private void Handle(MqttPacket packet, long now)
    {
        switch (packet)
        {
            case MqttConnectPacket connect: OnConnect(connect, now); break;
            case MqttPublishPacket publish: OnPublish(publish, now); break;
            case MqttPublishResponsePacket response: OnPublishResponse(response, now); break;
            case MqttSubscribePacket subscribe: broker.Subscribe(this, subscribe, now); break;
            case MqttUnsubscribePacket unsubscribe: broker.Unsubscribe(this, unsubscribe); break;
            case MqttPingPacket { Type: MqttPacketType.PingReq }: Write(MqttPingPacket.Response); break;
            case MqttDisconnectPacket { Type: MqttPacketType.Disconnect } disconnect: OnDisconnect(disconnect, now); break;
            case MqttDisconnectPacket { Type: MqttPacketType.Auth } auth: OnAuth(auth, now); break;
            default:
                throw MqttProtocolException.Protocol($"a broker does not accept {MqttPacketDecoder.Name(packet.Type)}");
        }
    }

    private void OnConnect(MqttConnectPacket connect, long now)
    {
        if (State != ConnectionState.AwaitingConnect) throw MqttProtocolException.Protocol("a second CONNECT");
        Version = connect.ProtocolVersion;
        var options = broker.Options;
        bool v5 = Version == MqttProtocolVersion.V500;
        if (connect.ClientId.Length == 0)
        {
            if (!v5 && !connect.CleanStart) { Refuse(MqttReasonCode.ClientIdentifierNotValid, "an empty client identifier needs Clean Session (3.1.1)"); return; }
            assignedClientId = "auto-" + Guid.NewGuid().ToString("N");
        }
        if (broker.ConnectedCount >= options.MaxConnections) { Refuse(MqttReasonCode.QuotaExceeded, "too many connections"); return; }
        var verdict = options.Authenticate?.Invoke(new MqttAuthenticationContext(connect, Link.RemoteEndPoint)) ?? MqttReasonCode.Success;
        if (!verdict.IsSuccess()) { Refuse(verdict, "refused by the authentication hook"); return; }
        if (v5 && connect.Properties?.AuthenticationMethod is { } method)
        {
            if (options.EnhancedAuthentication is null) { Refuse(MqttReasonCode.BadAuthenticationMethod, $"authentication method '{method}' is not supported"); return; }
            authenticationMethod = method;
            pendingConnect = connect;
            authentication = new MqttAuthenticationExchange(method, false, assignedClientId ?? connect.ClientId, connect.UserName, Link.RemoteEndPoint)
            {
                Data = connect.Properties.AuthenticationData ?? ReadOnlyMemory<byte>.Empty,
            };
            State = ConnectionState.Authenticating;
            StepAuthentication(now);
            return;
        }
        Accept(connect, null, now);
    }

    /// <summary>CONNECT accepted: opens (or resumes) the session and answers CONNACK 0, with the enhanced authentication's final data if any.</summary>
    private void Accept(MqttConnectPacket connect, MqttAuthenticationResult? authenticated, long now)
    {
        var options = broker.Options;
        bool v5 = Version == MqttProtocolVersion.V500;
        string clientId = assignedClientId ?? connect.ClientId;
        ushort keepAlive = connect.KeepAlive;
        ushort? serverKeepAlive = null;
        ushort max = (ushort)options.MaxKeepAlive.TotalSeconds;
        if (max > 0 && (keepAlive == 0 || keepAlive > max)) serverKeepAlive = keepAlive = max;
        KeepAliveMs = keepAlive * 1000L;
        var p = connect.Properties;
        SendWindow = Math.Min(options.MaxInflightMessages, p?.ReceiveMaximum ?? ushort.MaxValue);
        ClientMaximumPacketSize = p?.MaximumPacketSize ?? long.MaxValue;
        uint expiry = v5 ? p?.SessionExpiryInterval ?? 0 : connect.CleanStart ? 0 : uint.MaxValue;
        Will = connect.Will;
        UserName = connect.UserName;
        var (session, present) = broker.OpenSession(this, clientId, connect.CleanStart, expiry, now);
        Session = session;
        // The callbacks see the address the client connected from, also once its socket is gone.
        if (options.ClientConnected is not null || options.ClientDisconnected is not null || options.MessagePublished is not null) _ = Info;
        State = ConnectionState.Connected;
        var ack = new MqttConnAckPacket
        {
            SessionPresent = present,
            Properties = v5 ? new MqttProperties
            {
                AssignedClientIdentifier = assignedClientId,
                ServerKeepAlive = serverKeepAlive,
                ReceiveMaximum = options.MaxInflightMessages < ushort.MaxValue ? (ushort)options.MaxInflightMessages : null,
                TopicAliasMaximum = options.TopicAliasMaximum > 0 ? options.TopicAliasMaximum : null,
                MaximumPacketSize = (uint)options.MaximumPacketSize,
                AuthenticationMethod = authenticationMethod,
                AuthenticationData = authenticated?.Data,
            } : null,
        };
        Write(ack);
        options.ClientConnected?.Invoke(Info!);
        broker.Resume(session, now);
    }

    /// <summary>AUTH from the client (§4.12): the next round of the exchange in progress, or a re-authentication (0x19).</summary>
    private void OnAuth(MqttDisconnectPacket auth, long now)
    {
        if (authenticationMethod is null) throw MqttProtocolException.Protocol("AUTH from a client that connected without an Authentication Method");
        if (auth.Properties?.AuthenticationMethod != authenticationMethod)
            throw MqttProtocolException.Protocol($"AUTH with authentication method '{auth.Properties?.AuthenticationMethod}', not the connection's '{authenticationMethod}'");
        var data = auth.Properties?.AuthenticationData ?? ReadOnlyMemory<byte>.Empty;
        switch (auth.ReasonCode)
        {
            case MqttReasonCode.ContinueAuthentication when authentication is not null:
                authentication.Step++;
                authentication.Data = data;
                break;
            case MqttReasonCode.ReAuthenticate when State == ConnectionState.Connected && authentication is null:
                authentication = new MqttAuthenticationExchange(authenticationMethod, true, Session!.ClientId, UserName, Link.RemoteEndPoint) { Data = data };
                break;
            default:
                throw MqttProtocolException.Protocol($"AUTH 0x{(byte)auth.ReasonCode:X2} {(authentication is null ? "with no authentication in progress" : "during an authentication")}");
        }
        StepAuthentication(now);
    }

    /// <summary>Hands the exchange's current step to the hook and acts on its answer.</summary>
    private void StepAuthentication(long now)
    {
        var exchange = authentication!;
        var result = broker.Options.EnhancedAuthentication!(exchange);
        if (result.ReasonCode == MqttReasonCode.ContinueAuthentication)
        {
            Write(new MqttDisconnectPacket(MqttReasonCode.ContinueAuthentication,
                new MqttProperties { AuthenticationMethod = exchange.Method, AuthenticationData = result.Data }, isAuth: true));
            return;
        }
        authentication = null;
        if (!exchange.IsReauthentication)
        {
            var connect = pendingConnect!;
            pendingConnect = null;
            if (result.ReasonCode.IsSuccess()) Accept(connect, result, now);
            else Refuse(result.ReasonCode, "refused by the enhanced authentication");
            return;
        }
        if (!result.ReasonCode.IsSuccess()) throw new MqttProtocolException(result.ReasonCode, "re-authentication refused");
        Write(new MqttDisconnectPacket(MqttReasonCode.Success, new MqttProperties { AuthenticationMethod = exchange.Method, AuthenticationData = result.Data }, isAuth: true));
    }

    private void Refuse(MqttReasonCode code, string reason)
    {
        var properties = Version == MqttProtocolVersion.V500 ? new MqttProperties { ReasonString = reason } : null;
        Write(new MqttConnAckPacket { ReasonCode = code, Properties = properties });
        Close();
    }

    private void OnPublish(MqttPublishPacket publish, long now)
    {
        ResolveAlias(publish);
        var session = Session!;
        var qos = publish.QualityOfService;
        if (qos == MqttQualityOfService.ExactlyOnce)
        {
            if (session.ReceivedQos2Count > 0 && session.ReceivedQos2.Contains(publish.PacketId))
            {
                // A resend (DUP) of a message already accepted: acknowledge again, never route twice.
                WriteResponse(MqttPacketType.PubRec, publish.PacketId);
                return;
            }
            if (session.ReceivedQos2Count >= broker.Options.MaxInflightMessages)
                throw new MqttProtocolException(MqttReasonCode.ReceiveMaximumExceeded, $"more than {broker.Options.MaxInflightMessages} QoS 2 messages awaiting PUBREL");
        }
        var code = broker.Options.Authorize?.Invoke(new MqttAuthorizationContext(session.ClientId, UserName, MqttTopicAction.Publish, publish.Topic)) == false
            ? MqttReasonCode.NotAuthorized
            : MqttReasonCode.Success;
        if (code == MqttReasonCode.Success) broker.Publish(this, publish, now);
        var answer = Version == MqttProtocolVersion.V500 ? code : MqttReasonCode.Success;
        if (qos == MqttQualityOfService.AtLeastOnce) WriteResponse(MqttPacketType.PubAck, publish.PacketId, answer);
        else if (qos == MqttQualityOfService.ExactlyOnce)
        {
            if (code == MqttReasonCode.Success) broker.MarkReceivedQos2(session, publish.PacketId);
            WriteResponse(MqttPacketType.PubRec, publish.PacketId, answer);
        }
    }

    private void ResolveAlias(MqttPublishPacket publish)
    {
        if (publish.Properties?.TopicAlias is not { } alias) return;
        if (alias > broker.Options.TopicAliasMaximum) throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, $"topic alias {alias} is over the maximum of {broker.Options.TopicAliasMaximum}");
        if (publish.Topic.Length > 0) (incomingAliases ??= [])[alias] = publish.Topic;
        else if (incomingAliases is not null && incomingAliases.TryGetValue(alias, out var topic)) publish.Topic = topic;
        else throw MqttProtocolException.Protocol($"topic alias {alias} was never set");
    }

    private void OnPublishResponse(MqttPublishResponsePacket response, long now)
    {
        var session = Session!;
        if (response.Type == MqttPacketType.PubRel)
        {
            bool known = broker.ReleaseReceivedQos2(session, response.PacketId);
            var code = known || Version != MqttProtocolVersion.V500 ? MqttReasonCode.Success : MqttReasonCode.PacketIdentifierNotFound;
            WriteResponse(MqttPacketType.PubComp, response.PacketId, code);
            return;
        }
        broker.Acknowledge(session, response.Type, response.PacketId, response.ReasonCode, now);
    }

    private void OnDisconnect(MqttDisconnectPacket disconnect, long now)
    {
        if (Session is not { } session)
        {
            Close(); // during the CONNECT's authentication: no session, no will yet
            return;
        }
        if (disconnect.Properties?.SessionExpiryInterval is { } expiry)
        {
            if (session.ExpiryInterval == 0 && expiry != 0) throw MqttProtocolException.Protocol("DISCONNECT sets a session expiry after CONNECT set none");
            session.ExpiryInterval = expiry;
        }
        // A normal DISCONNECT discards the will; 0x04 asks for it to be published (§3.14.2.1).
        if (disconnect.ReasonCode != MqttReasonCode.DisconnectWithWillMessage) Will = null;
        Close();
    }

    /// <summary>Answers a protocol error (5.0: CONNACK or DISCONNECT with its code) and closes.</summary>
    public void Fail(MqttProtocolException error, long now)
    {
        if (State == ConnectionState.Closed) return;
        if (State is ConnectionState.AwaitingConnect or ConnectionState.Authenticating)
        {
            if (error.ReasonCode == MqttReasonCode.UnsupportedProtocolVersion)
            {
                // Answer in the 3.1.1 form, which every version can read (return code 1).
                Version = MqttProtocolVersion.V311;
                Write(new MqttConnAckPacket { ReasonCode = MqttReasonCode.UnsupportedProtocolVersion });
            }
            else if (Version == MqttProtocolVersion.V500)
            {
                Write(new MqttConnAckPacket { ReasonCode = error.ReasonCode });
            }
        }
        else if (Version == MqttProtocolVersion.V500)
        {
            Write(new MqttDisconnectPacket(error.ReasonCode, new MqttProperties { ReasonString = MqttClientCore.Truncate(error.Message) }));
        }
        Close();
    }

    /// <summary>Closes (after what was written); the broker publishes the will unless it was discarded.</summary>
    public void Close()
    {
        if (State == ConnectionState.Closed) return;
        State = ConnectionState.Closed;
        broker.Flush(this);
        Link.Close();
    }

    // ------------------------------------------------------------------ output

    public void Write(MqttPacket packet)
    {
        MqttPacketEncoder.Write(packet, Version == MqttProtocolVersion.Unknown ? MqttProtocolVersion.V311 : Version, Link.Output);
        MarkDirty();
    }

    /// <summary>Writes PUBACK, PUBREC, PUBREL or PUBCOMP (no packet object on this path).</summary>
    public void WriteResponse(MqttPacketType type, ushort packetId, MqttReasonCode code = MqttReasonCode.Success)
    {
        MqttPacketEncoder.WritePublishResponse(Link.Output, Version, type, packetId, code);
        MarkDirty();
    }

    /// <summary>Writes a PUBLISH of a stored message; false when it is over the client's Maximum Packet Size (dropped, §3.1.2.11.4).</summary>
    public bool WritePublish(MqttBrokerMessage message, MqttQualityOfService qos, bool retain, List<int>? subscriptionIds, ushort packetId, bool duplicate, long now)
    {
        var properties = Version == MqttProtocolVersion.V500 ? OutgoingProperties(message, subscriptionIds, now) : null;
        if (ClientMaximumPacketSize != long.MaxValue && MqttPacketEncoder.MeasurePublish(Version, message.Topic, message.Payload.Length, qos, properties) > ClientMaximumPacketSize)
            return false;
        MqttPacketEncoder.WritePublish(Link.Output, Version, message.Topic, message.Payload, qos, retain, duplicate, packetId, properties);
        MarkDirty();
        return true;
    }

    /// <summary>The properties to forward: the publisher's, with the remaining expiry (§3.3.2.3.3) and this subscription's identifiers.</summary>
    private static MqttProperties? OutgoingProperties(MqttBrokerMessage message, List<int>? subscriptionIds, long now)
    {
        var properties = message.Properties;
        bool expires = message.ExpiresAt != long.MaxValue;
        if (subscriptionIds is null && !expires) return properties;
        properties = properties?.Clone() ?? new MqttProperties();
        if (expires) properties.MessageExpiryInterval = (uint)Math.Max(0, (message.ExpiresAt - now + 999) / 1000);
        properties.SubscriptionIdentifiers = subscriptionIds;
        return properties;
    }

    private void MarkDirty()
    {
        if (!Link.NeedsFlush || isDirty) return;
        isDirty = true;
        broker.MarkDirty(this);
    }

    public void FlushLink()
    {
        if (!isDirty) return;
        isDirty = false;
        Link.Flush();
    }

    public void Dispose() => reader.Dispose();
}
