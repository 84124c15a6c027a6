// How this file works: the sans-I/O MQTT client (MQTT 5.0 §3, §4; 3.1.1 §3, §4). Packets come in
// through Receive, requests through Publish/Subscribe/Unsubscribe/Disconnect, time through Tick
// (milliseconds, from the caller's clock); bytes go out to the IBufferWriter given, and what the
// application must hear goes to an IMqttClientObserver. The session (in-flight messages, QoS 2
// packet identifiers received, subscriptions) outlives connections: Start begins a connection on
// it, ConnectionLost ends one, End ends the session and reports every message not delivered.
//
// State machine (one connection at a time):
//   Disconnected   no connection                              -> Connecting (Start: CONNECT written)
//   Connecting     waiting for CONNACK                        -> Connected (accepted)
//                                                             -> Disconnected (refused, lost, timed out)
//   Connected      traffic flows                              -> Disconnecting (Disconnect: DISCONNECT written)
//                                                             -> Disconnected (lost)
//   Disconnecting  DISCONNECT sent; nothing more is sent      -> Disconnected (ConnectionLost)
//
// Enhanced authentication (5.0 §4.12), with an Authentication Method: the broker may answer
// CONNECT with rounds of AUTH 0x18 (still Connecting), each answered by the options' hook; the
// hook also checks the broker's final data on CONNACK. Reauthenticate (Connected) sends AUTH 0x19,
// rounds follow, AUTH 0x00 ends it. The exchange in progress is null when there is none.
//
// Delivery (§4.3, §4.4): a QoS 1 message waits for PUBACK; QoS 2 for PUBREC, then (after our
// PUBREL) PUBCOMP. After a reconnect onto a present session, unacknowledged PUBLISH packets are
// resent with DUP and PUBRELs resent, with their original packet identifiers. When the broker has
// no session for us, QoS 1/2 messages it never acknowledged are sent again as new messages, and a
// QoS 2 message it had acknowledged with PUBREC counts as delivered (it has it). Received QoS 2
// messages are delivered once on PUBLISH and their identifiers remembered until PUBREL, so a
// resent PUBLISH with DUP is acknowledged again but never delivered twice.
using System.Buffers;

namespace Meerkat.Mqtt;

/// <summary>Where a client connection stands (see <see cref="MqttClientCore"/>).</summary>
public enum MqttClientState
{
    /// <summary>No connection.</summary>
    Disconnected,
    /// <summary>CONNECT sent; waiting for CONNACK.</summary>
    Connecting,
    /// <summary>Accepted; messages flow.</summary>
    Connected,
    /// <summary>DISCONNECT sent.</summary>
    Disconnecting,
}

/// <summary>What a client core tells its application; called during the core's methods.</summary>
internal interface IMqttClientObserver
{
    /// <summary>CONNACK arrived (accepted or refused).</summary>
    void OnConnAck(MqttConnAckPacket packet);

    /// <summary>An application message arrived; <paramref name="packet"/>'s topic is resolved (aliases) and its payload valid only during the call.</summary>
    void OnMessage(MqttPublishPacket packet);

    /// <summary>An outgoing message ended.</summary>
    void OnPublishDone(MqttDelivery delivery);

    /// <summary>A SUBACK or UNSUBACK arrived, or the session ended with the request unanswered.</summary>
    void OnSubscribeDone(MqttSubscribeRequest request);

    /// <summary>5.0: the broker sent DISCONNECT.</summary>
    void OnDisconnect(MqttDisconnectPacket packet);
}

/// <summary>The sans-I/O MQTT client: one session, one connection at a time. Single-threaded.</summary>
internal sealed class MqttClientCore
{
    private readonly MqttClientOptions options;
    private readonly Dictionary<ushort, MqttDelivery> inflight = [];
    private readonly Queue<MqttDelivery> pending = new();
    private readonly Dictionary<ushort, MqttSubscribeRequest> requests = [];
    private readonly List<MqttSubscribeRequest> unsentRequests = [];
    private readonly HashSet<ushort> receivedQos2 = [];
    private readonly Dictionary<string, (MqttSubscription Subscription, MqttProperties? Properties)> subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<ushort, string> incomingAliases = [];
    private readonly Dictionary<string, ushort> outgoingAliases = new(StringComparer.Ordinal);
    private ushort nextPacketId;
    private int window;
    private ushort serverTopicAliasMaximum;
    private long serverMaximumPacketSize = long.MaxValue;
    private long connectStartedAt;
    private long lastSentAt;
    private long pingSentAt = -1;
    private long keepAliveMs;
    private MqttAuthenticationExchange? authentication;

    /// <summary>Creates a client session with the given options.</summary>
    public MqttClientCore(MqttClientOptions options)
    {
        options.Validate();
        this.options = options;
        ClientId = options.ClientId;
        keepAliveMs = (long)options.KeepAlive.TotalMilliseconds;
    }

    /// <summary>Where the current connection stands.</summary>
    public MqttClientState State { get; private set; }

    /// <summary>The protocol version spoken.</summary>
    public MqttProtocolVersion Version => options.ProtocolVersion;

    /// <summary>The client identifier: the configured one, or the one the broker assigned.</summary>
    public string ClientId { get; private set; }

    /// <summary>QoS 1/2 messages sent and not yet acknowledged.</summary>
    public int InflightCount => inflight.Count;

    /// <summary>Messages waiting to be sent.</summary>
    public int PendingCount => pending.Count;

    /// <summary>The CONNACK of the current connection, once accepted.</summary>
    public MqttConnAckPacket? ConnAck { get; private set; }

    // ------------------------------------------------------------------ connection

    /// <summary>The transport is up: writes CONNECT.</summary>
    /// <exception cref="InvalidOperationException">A connection is already running.</exception>
    public void Start(long now, IBufferWriter<byte> output)
    {
        if (State != MqttClientState.Disconnected) throw new InvalidOperationException($"Start while {State}");
        incomingAliases.Clear();
        outgoingAliases.Clear();
        serverTopicAliasMaximum = 0;
        serverMaximumPacketSize = long.MaxValue;
        keepAliveMs = (long)options.KeepAlive.TotalMilliseconds;
        ConnAck = null;
        bool v5 = Version == MqttProtocolVersion.V500;
        var connect = new MqttConnectPacket
        {
            ProtocolVersion = Version,
            ClientId = ClientId,
            CleanStart = options.CleanStart,
            KeepAlive = (ushort)options.KeepAlive.TotalSeconds,
            UserName = options.UserName,
            Password = options.Password,
            Will = options.Will,
            Properties = v5 ? new MqttProperties
            {
                SessionExpiryInterval = options.SessionExpiryInterval == 0 ? null : options.SessionExpiryInterval,
                ReceiveMaximum = options.ReceiveMaximum == ushort.MaxValue ? null : options.ReceiveMaximum,
                TopicAliasMaximum = options.TopicAliasMaximum == 0 ? null : options.TopicAliasMaximum,
                MaximumPacketSize = (uint)options.MaximumPacketSize,
                UserProperties = options.UserProperties,
                AuthenticationMethod = options.AuthenticationMethod,
                AuthenticationData = options.AuthenticationData,
            } : null,
        };
        authentication = options.AuthenticationMethod is { } method ? new MqttAuthenticationExchange(method, false, ClientId, options.UserName, null) { Step = -1 } : null;
        Write(connect, output, now);
        State = MqttClientState.Connecting;
        connectStartedAt = now;
        pingSentAt = -1;
    }

    /// <summary>The transport is gone. The session stays: call <see cref="Start"/> on a new connection, or <see cref="End"/>.</summary>
    public void ConnectionLost()
    {
        State = MqttClientState.Disconnected;
        authentication = null;
        // Requests in flight are sent again on the next connection; their old identifiers are free.
        foreach (var request in requests.Values) unsentRequests.Add(request);
        requests.Clear();
    }

    /// <summary>Keep-alive and CONNACK timeouts. Writes PINGREQ when due.</summary>
    /// <returns>False when the connection should be dropped: no CONNACK or no PINGRESP in time.</returns>
    public bool Tick(long now, IBufferWriter<byte> output)
    {
        switch (State)
        {
            case MqttClientState.Connecting:
                return now - connectStartedAt < (long)options.ConnectTimeout.TotalMilliseconds;
            case MqttClientState.Connected:
                if (pingSentAt >= 0) return now - pingSentAt < (long)options.PingTimeout.TotalMilliseconds;
                if (keepAliveMs > 0 && now - lastSentAt >= keepAliveMs)
                {
                    Write(MqttPingPacket.Request, output, now);
                    pingSentAt = now;
                }
                return true;
            default:
                return true;
        }
    }

    /// <summary>Milliseconds until <see cref="Tick"/> has something to do (for the caller's timer).</summary>
    public long NextTickIn(long now) => State switch
    {
        MqttClientState.Connecting => Math.Max(0, connectStartedAt + (long)options.ConnectTimeout.TotalMilliseconds - now),
        MqttClientState.Connected when pingSentAt >= 0 => Math.Max(0, pingSentAt + (long)options.PingTimeout.TotalMilliseconds - now),
        MqttClientState.Connected when keepAliveMs > 0 => Math.Max(0, lastSentAt + keepAliveMs - now),
        _ => long.MaxValue,
    };

    /// <summary>Writes DISCONNECT (normal, or <see cref="MqttReasonCode.DisconnectWithWillMessage"/> in 5.0 to have the will published).</summary>
    /// <returns>False when not connected.</returns>
    public bool Disconnect(IBufferWriter<byte> output, MqttReasonCode reason = MqttReasonCode.Success, long now = 0)
    {
        if (State is not (MqttClientState.Connected or MqttClientState.Connecting)) return false;
        Write(new MqttDisconnectPacket(reason), output, now);
        State = MqttClientState.Disconnecting;
        return true;
    }

    /// <summary>5.0: writes DISCONNECT with the error's reason code (after a protocol error by the broker); 3.1.1 writes nothing.</summary>
    public void WriteProtocolError(MqttProtocolException error, IBufferWriter<byte> output)
    {
        if (Version == MqttProtocolVersion.V500 && State is MqttClientState.Connected or MqttClientState.Connecting)
            MqttPacketEncoder.Write(new MqttDisconnectPacket(error.ReasonCode, new MqttProperties { ReasonString = Truncate(error.Message) }), Version, output);
        State = MqttClientState.Disconnecting;
    }

    /// <summary>Ends the session: every message and request not yet acknowledged is reported as not delivered.</summary>
    public void End(IMqttClientObserver observer)
    {
        State = MqttClientState.Disconnected;
        var undelivered = inflight.Values.OrderBy(d => d.PacketId).Concat(pending).ToList();
        inflight.Clear();
        pending.Clear();
        foreach (var delivery in undelivered) Complete(delivery, MqttDeliveryOutcome.NotDelivered, MqttReasonCode.UnspecifiedError, "the session ended before the message was acknowledged", observer);
        var unanswered = requests.Values.Concat(unsentRequests).ToList();
        requests.Clear();
        unsentRequests.Clear();
        foreach (var request in unanswered) FinishRequest(request, null, observer);
        receivedQos2.Clear();
    }

    // ------------------------------------------------------------------ requests from the application

    /// <summary>Queues a message; sends it now if connected and the in-flight window allows.</summary>
    /// <exception cref="ArgumentException">The topic is not a valid topic name.</exception>
    /// <exception cref="InvalidOperationException">More than <see cref="MqttClientOptions.MaxPendingMessages"/> are waiting.</exception>
    public MqttDelivery Publish(MqttApplicationMessage message, long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!MqttTopic.IsValidName(message.Topic)) throw new ArgumentException($"'{message.Topic}' is not a valid topic name (non-empty, no + or #)", nameof(message));
        if ((int)message.QualityOfService > 2) throw new ArgumentException("QoS must be 0, 1 or 2", nameof(message));
        if (pending.Count >= options.MaxPendingMessages) throw new InvalidOperationException($"{pending.Count} messages are already waiting to be sent (MaxPendingMessages)");
        var delivery = new MqttDelivery(message) { QueuedAt = now };
        pending.Enqueue(delivery);
        Pump(now, output, observer);
        return delivery;
    }

    /// <summary>Sends SUBSCRIBE (now, or once connected). The subscriptions are remembered and made again when the broker lost the session.</summary>
    /// <exception cref="ArgumentException">A filter is invalid.</exception>
    public MqttSubscribeRequest Subscribe(IEnumerable<MqttSubscription> subscriptions, MqttProperties? properties, long now, IBufferWriter<byte> output)
    {
        var list = subscriptions.ToList();
        if (list.Count == 0) throw new ArgumentException("SUBSCRIBE needs at least one filter", nameof(subscriptions));
        foreach (var s in list)
            if (!MqttTopic.IsValidFilter(s.Filter)) throw new ArgumentException($"'{s.Filter}' is not a valid topic filter", nameof(subscriptions));
        var request = new MqttSubscribeRequest(list, list.Select(s => s.Filter).ToList(), properties, isUnsubscribe: false);
        Send(request, now, output);
        return request;
    }

    /// <summary>Sends UNSUBSCRIBE (now, or once connected).</summary>
    public MqttSubscribeRequest Unsubscribe(IEnumerable<string> filters, long now, IBufferWriter<byte> output)
    {
        var list = filters.ToList();
        if (list.Count == 0) throw new ArgumentException("UNSUBSCRIBE needs at least one filter", nameof(filters));
        foreach (var f in list)
            if (!MqttTopic.IsValidFilter(f)) throw new ArgumentException($"'{f}' is not a valid topic filter", nameof(filters));
        foreach (var f in list) subscriptions.Remove(f);
        var request = new MqttSubscribeRequest([], list, null, isUnsubscribe: true);
        Send(request, now, output);
        return request;
    }

    private void Send(MqttSubscribeRequest request, long now, IBufferWriter<byte> output)
    {
        if (State != MqttClientState.Connected)
        {
            unsentRequests.Add(request);
            return;
        }
        request.PacketId = NextPacketId();
        requests[request.PacketId] = request;
        MqttPacket packet = request.IsUnsubscribe
            ? new MqttUnsubscribePacket { PacketId = request.PacketId, Filters = [.. request.Filters] }
            : new MqttSubscribePacket { PacketId = request.PacketId, Subscriptions = [.. request.Subscriptions], Properties = request.Properties };
        Write(packet, output, now);
    }

    // ------------------------------------------------------------------ packets from the broker

    /// <summary>Handles one packet from the broker.</summary>
    /// <exception cref="MqttProtocolException">The broker broke the protocol; write <see cref="WriteProtocolError"/> and close.</exception>
    public void Receive(MqttPacket packet, long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        // After DISCONNECT nothing may be sent (§3.14.4), so nothing that would need an answer is taken in.
        if (State is MqttClientState.Disconnecting or MqttClientState.Disconnected) return;
        if (State == MqttClientState.Connecting && packet.Type != MqttPacketType.ConnAck && packet.Type != MqttPacketType.Disconnect && packet.Type != MqttPacketType.Auth)
            throw MqttProtocolException.Protocol($"the first packet from the broker is {MqttPacketDecoder.Name(packet.Type)}, not CONNACK");
        switch (packet)
        {
            case MqttConnAckPacket ack: OnConnAck(ack, now, output, observer); break;
            case MqttPublishPacket publish: OnPublish(publish, now, output, observer); break;
            case MqttPublishResponsePacket response: OnPublishResponse(response, now, output, observer); break;
            case MqttSubscribeAckPacket ack: OnSubscribeAck(ack, observer); break;
            case MqttPingPacket { Type: MqttPacketType.PingResp }: pingSentAt = -1; break;
            case MqttDisconnectPacket { Type: MqttPacketType.Disconnect } disconnect:
                State = MqttClientState.Disconnecting;
                observer.OnDisconnect(disconnect);
                break;
            case MqttDisconnectPacket { Type: MqttPacketType.Auth } auth: OnAuth(auth, now, output); break;
            default:
                throw MqttProtocolException.Protocol($"a client does not accept {MqttPacketDecoder.Name(packet.Type)}");
        }
    }

    /// <summary>Starts a re-authentication (5.0 §4.12.1): AUTH 0x19 with the method and <paramref name="data"/>.</summary>
    /// <exception cref="InvalidOperationException">Not connected with an Authentication Method, or an exchange is in progress.</exception>
    public void Reauthenticate(ReadOnlyMemory<byte> data, long now, IBufferWriter<byte> output)
    {
        if (State != MqttClientState.Connected || options.AuthenticationMethod is not { } method)
            throw new InvalidOperationException("re-authentication needs a connected 5.0 session with an AuthenticationMethod");
        if (authentication is not null) throw new InvalidOperationException("an authentication exchange is already in progress");
        authentication = new MqttAuthenticationExchange(method, true, ClientId, options.UserName, null) { Step = -1 };
        Write(new MqttDisconnectPacket(MqttReasonCode.ReAuthenticate, new MqttProperties { AuthenticationMethod = method, AuthenticationData = data }, isAuth: true), output, now);
    }

    /// <summary>AUTH from the broker: another round (0x18) or the end of a re-authentication (0x00).</summary>
    private void OnAuth(MqttDisconnectPacket auth, long now, IBufferWriter<byte> output)
    {
        if (authentication is not { } exchange) throw MqttProtocolException.Protocol("AUTH with no authentication in progress");
        if (auth.Properties?.AuthenticationMethod != exchange.Method)
            throw MqttProtocolException.Protocol($"AUTH with authentication method '{auth.Properties?.AuthenticationMethod}', not '{exchange.Method}'");
        var data = auth.Properties?.AuthenticationData ?? ReadOnlyMemory<byte>.Empty;
        if (auth.ReasonCode == MqttReasonCode.Success && exchange.IsReauthentication && State == MqttClientState.Connected)
        {
            Complete(exchange, data);
            return;
        }
        if (auth.ReasonCode != MqttReasonCode.ContinueAuthentication) throw MqttProtocolException.Protocol($"AUTH 0x{(byte)auth.ReasonCode:X2} from the broker here");
        var result = Step(exchange, data, complete: false);
        Write(new MqttDisconnectPacket(MqttReasonCode.ContinueAuthentication, new MqttProperties { AuthenticationMethod = exchange.Method, AuthenticationData = result.Data }, isAuth: true), output, now);
    }

    /// <summary>The broker ended an exchange with success: the hook checks its final data.</summary>
    private void Complete(MqttAuthenticationExchange exchange, ReadOnlyMemory<byte> data)
    {
        authentication = null;
        if (options.EnhancedAuthentication is not null) Step(exchange, data, complete: true);
    }

    private MqttAuthenticationResult Step(MqttAuthenticationExchange exchange, ReadOnlyMemory<byte> data, bool complete)
    {
        var hook = options.EnhancedAuthentication
            ?? throw new MqttProtocolException(MqttReasonCode.BadAuthenticationMethod, "the broker asks for another authentication round and no EnhancedAuthentication hook answers");
        exchange.Step++;
        exchange.Data = data;
        exchange.IsComplete = complete;
        var result = hook(exchange);
        if (!result.ReasonCode.IsSuccess()) throw new MqttProtocolException(result.ReasonCode, $"the authentication hook refused the broker's {(complete ? "final" : "")} authentication data");
        return result;
    }

    private void OnConnAck(MqttConnAckPacket ack, long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        if (State != MqttClientState.Connecting) throw MqttProtocolException.Protocol("a second CONNACK");
        if (!ack.ReasonCode.IsSuccess())
        {
            State = MqttClientState.Disconnecting;
            authentication = null;
            observer.OnConnAck(ack);
            return;
        }
        if (authentication is { } exchange)
        {
            if (ack.Properties?.AuthenticationMethod is { } method && method != exchange.Method)
                throw MqttProtocolException.Protocol($"CONNACK with authentication method '{method}', not '{exchange.Method}'");
            Complete(exchange, ack.Properties?.AuthenticationData ?? ReadOnlyMemory<byte>.Empty);
        }
        State = MqttClientState.Connected;
        ConnAck = ack;
        var p = ack.Properties;
        if (p?.AssignedClientIdentifier is { } assigned) ClientId = assigned;
        if (p?.ServerKeepAlive is { } serverKeepAlive) keepAliveMs = serverKeepAlive * 1000L;
        window = Math.Min(options.MaxInflight, p?.ReceiveMaximum ?? ushort.MaxValue);
        serverTopicAliasMaximum = options.UseTopicAliases ? p?.TopicAliasMaximum ?? 0 : (ushort)0;
        serverMaximumPacketSize = p?.MaximumPacketSize ?? long.MaxValue;
        observer.OnConnAck(ack);
        if (State != MqttClientState.Connected) return;
        if (ack.SessionPresent) Resend(now, output);
        else StartOver(now, output, observer);
        foreach (var request in unsentRequests.ToList())
        {
            unsentRequests.Remove(request);
            Send(request, now, output);
        }
        Pump(now, output, observer);
    }

    /// <summary>The broker kept our session: resend what it has not acknowledged, in order (§4.4).</summary>
    private void Resend(long now, IBufferWriter<byte> output)
    {
        foreach (var delivery in inflight.Values.OrderBy(d => d.PacketId).ToList())
        {
            if (delivery.Step == MqttDelivery.Stage.AwaitingPubComp) Write(new MqttPublishResponsePacket(MqttPacketType.PubRel, delivery.PacketId), output, now);
            else WritePublish(delivery, duplicate: true, now, output);
        }
    }

    /// <summary>The broker has no session for us: messages it never acknowledged go again as new ones,
    /// QoS 2 ones it had (PUBREC) count as delivered, and our subscriptions are made again.</summary>
    private void StartOver(long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        receivedQos2.Clear();
        var retry = new List<MqttDelivery>();
        foreach (var delivery in inflight.Values.OrderBy(d => d.PacketId).ToList())
        {
            if (delivery.Step == MqttDelivery.Stage.AwaitingPubComp)
            {
                inflight.Remove(delivery.PacketId);
                Complete(delivery, MqttDeliveryOutcome.Delivered, MqttReasonCode.Success, null, observer);
                continue;
            }
            inflight.Remove(delivery.PacketId);
            delivery.Step = MqttDelivery.Stage.Queued;
            delivery.PacketId = 0;
            retry.Add(delivery);
        }
        if (retry.Count > 0)
        {
            var rest = pending.ToList();
            pending.Clear();
            foreach (var d in retry.Concat(rest)) pending.Enqueue(d);
        }
        if (subscriptions.Count > 0 && !unsentRequests.Any(r => !r.IsUnsubscribe))
        {
            var again = new MqttSubscribeRequest(subscriptions.Values.Select(s => s.Subscription).ToList(), [.. subscriptions.Keys], null, false) { IsInternal = true };
            Send(again, now, output);
        }
    }

    private void OnPublish(MqttPublishPacket publish, long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        ResolveIncomingAlias(publish);
        switch (publish.QualityOfService)
        {
            case MqttQualityOfService.AtMostOnce:
                observer.OnMessage(publish);
                break;
            case MqttQualityOfService.AtLeastOnce:
                observer.OnMessage(publish);
                Write(new MqttPublishResponsePacket(MqttPacketType.PubAck, publish.PacketId), output, now);
                break;
            case MqttQualityOfService.ExactlyOnce:
                if (receivedQos2.Add(publish.PacketId))
                {
                    if (Version == MqttProtocolVersion.V500 && receivedQos2.Count > options.ReceiveMaximum)
                        throw new MqttProtocolException(MqttReasonCode.ReceiveMaximumExceeded, $"the broker sent more than {options.ReceiveMaximum} unacknowledged QoS 2 messages");
                    observer.OnMessage(publish);
                }
                Write(new MqttPublishResponsePacket(MqttPacketType.PubRec, publish.PacketId), output, now);
                break;
        }
    }

    private void ResolveIncomingAlias(MqttPublishPacket publish)
    {
        if (publish.Properties?.TopicAlias is not { } alias) return;
        if (alias > options.TopicAliasMaximum) throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, $"topic alias {alias} is over our maximum of {options.TopicAliasMaximum}");
        if (publish.Topic.Length > 0) incomingAliases[alias] = publish.Topic;
        else if (incomingAliases.TryGetValue(alias, out var topic)) publish.Topic = topic;
        else throw MqttProtocolException.Protocol($"topic alias {alias} was never set");
    }

    private void OnPublishResponse(MqttPublishResponsePacket response, long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        if (response.Type == MqttPacketType.PubRel)
        {
            bool known = receivedQos2.Remove(response.PacketId);
            var code = known || Version == MqttProtocolVersion.V311 ? MqttReasonCode.Success : MqttReasonCode.PacketIdentifierNotFound;
            Write(new MqttPublishResponsePacket(MqttPacketType.PubComp, response.PacketId, code), output, now);
            return;
        }
        // An answer for an identifier we do not have in flight (a duplicate after a resend) is ignored.
        if (!inflight.TryGetValue(response.PacketId, out var delivery)) return;
        var expected = delivery.Step switch
        {
            MqttDelivery.Stage.AwaitingPubAck => MqttPacketType.PubAck,
            MqttDelivery.Stage.AwaitingPubRec => MqttPacketType.PubRec,
            _ => MqttPacketType.PubComp,
        };
        if (response.Type != expected)
        {
            if (response.Type == MqttPacketType.PubRec && delivery.Step == MqttDelivery.Stage.AwaitingPubComp)
            {
                Write(new MqttPublishResponsePacket(MqttPacketType.PubRel, delivery.PacketId), output, now);
                return;
            }
            throw MqttProtocolException.Protocol($"{MqttPacketDecoder.Name(response.Type)} for packet {response.PacketId}, which awaits {MqttPacketDecoder.Name(expected)}");
        }
        if (response.Type == MqttPacketType.PubRec && response.ReasonCode.IsSuccess())
        {
            delivery.Step = MqttDelivery.Stage.AwaitingPubComp;
            Write(new MqttPublishResponsePacket(MqttPacketType.PubRel, delivery.PacketId), output, now);
            return;
        }
        inflight.Remove(response.PacketId);
        // PUBCOMP 0x92 (identifier not found) answers a PUBREL resent after its PUBCOMP was lost: the
        // broker had completed the message already, so it is delivered (§4.3.3).
        bool ok = response.ReasonCode.IsSuccess() || response.Type == MqttPacketType.PubComp;
        Complete(delivery, ok ? MqttDeliveryOutcome.Delivered : MqttDeliveryOutcome.Rejected, response.ReasonCode, response.Properties?.ReasonString, observer);
        Pump(now, output, observer);
    }

    private void OnSubscribeAck(MqttSubscribeAckPacket ack, IMqttClientObserver observer)
    {
        if (!requests.Remove(ack.PacketId, out var request)) return;
        if (request.IsUnsubscribe != (ack.Type == MqttPacketType.UnsubAck))
            throw MqttProtocolException.Protocol($"{MqttPacketDecoder.Name(ack.Type)} answers a request of the other kind (packet {ack.PacketId})");
        if (!request.IsUnsubscribe)
        {
            if (ack.ReasonCodes.Count != request.Subscriptions.Count)
                throw MqttProtocolException.Protocol($"SUBACK has {ack.ReasonCodes.Count} reason codes for {request.Subscriptions.Count} filters");
            for (int i = 0; i < ack.ReasonCodes.Count; i++)
                if (ack.ReasonCodes[i].IsSuccess()) subscriptions[request.Subscriptions[i].Filter] = (request.Subscriptions[i], request.Properties);
        }
        FinishRequest(request, ack.ReasonCodes, observer);
    }

    private static void FinishRequest(MqttSubscribeRequest request, List<MqttReasonCode>? codes, IMqttClientObserver observer)
    {
        request.ReasonCodes = codes;
        request.IsDone = true;
        if (request.IsInternal) return;
        request.Completed?.Invoke(request);
        observer.OnSubscribeDone(request);
    }

    // ------------------------------------------------------------------ sending

    /// <summary>Sends queued messages while connected and the window has room.</summary>
    private void Pump(long now, IBufferWriter<byte> output, IMqttClientObserver observer)
    {
        while (State == MqttClientState.Connected && pending.TryPeek(out var delivery))
        {
            var qos = delivery.Message.QualityOfService;
            if (qos != MqttQualityOfService.AtMostOnce && inflight.Count >= window) return;
            pending.Dequeue();
            if (Expired(delivery, now, observer) || Refused(delivery, observer)) continue;
            if (qos == MqttQualityOfService.AtMostOnce)
            {
                WritePublish(delivery, false, now, output);
                Complete(delivery, MqttDeliveryOutcome.Delivered, MqttReasonCode.Success, null, observer);
                continue;
            }
            delivery.PacketId = NextPacketId();
            delivery.Step = qos == MqttQualityOfService.AtLeastOnce ? MqttDelivery.Stage.AwaitingPubAck : MqttDelivery.Stage.AwaitingPubRec;
            inflight[delivery.PacketId] = delivery;
            WritePublish(delivery, false, now, output);
        }
    }

    /// <summary>A message the broker said it will not take (CONNACK limits) ends at once as rejected.</summary>
    private bool Refused(MqttDelivery delivery, IMqttClientObserver observer)
    {
        var m = delivery.Message;
        var p = ConnAck?.Properties;
        if (p?.MaximumQoS is { } maxQos && (int)m.QualityOfService > maxQos)
            Complete(delivery, MqttDeliveryOutcome.Rejected, MqttReasonCode.QoSNotSupported, $"the broker accepts QoS {maxQos} at most", observer);
        else if (m.Retain && p?.RetainAvailable == 0)
            Complete(delivery, MqttDeliveryOutcome.Rejected, MqttReasonCode.RetainNotSupported, "the broker does not support retained messages", observer);
        else if (MqttPacketEncoder.MeasurePublish(Version, m.Topic, m.Payload.Length, m.QualityOfService, m.Properties) > serverMaximumPacketSize)
            Complete(delivery, MqttDeliveryOutcome.Rejected, MqttReasonCode.PacketTooLarge, $"the message is over the broker's maximum packet size of {serverMaximumPacketSize}", observer);
        else return false;
        return true;
    }

    /// <summary>A 5.0 message that waited (offline, or behind the in-flight window) past its Message
    /// Expiry Interval is never sent (§3.3.2.3.3): it ends as not delivered.</summary>
    private bool Expired(MqttDelivery delivery, long now, IMqttClientObserver observer)
    {
        if (Version != MqttProtocolVersion.V500 || delivery.Message.Properties?.MessageExpiryInterval is not { } seconds) return false;
        if (now - delivery.QueuedAt < seconds * 1000L) return false;
        Complete(delivery, MqttDeliveryOutcome.NotDelivered, MqttReasonCode.UnspecifiedError,
            $"the message expired before it could be sent (Message Expiry Interval {seconds} s)", observer);
        return true;
    }

    private void WritePublish(MqttDelivery delivery, bool duplicate, long now, IBufferWriter<byte> output)
    {
        var m = delivery.Message;
        string topic = m.Topic;
        var properties = m.Properties;
        if (!duplicate && properties?.MessageExpiryInterval is { } seconds && now > delivery.QueuedAt)
        {
            // The broker is told the lifetime left, not the one the message was queued with.
            long leftMs = seconds * 1000L - (now - delivery.QueuedAt);
            properties = properties.Clone();
            properties.MessageExpiryInterval = (uint)Math.Max(1, (leftMs + 999) / 1000);
        }
        if (serverTopicAliasMaximum > 0 && !duplicate)
        {
            if (outgoingAliases.TryGetValue(topic, out ushort alias)) topic = string.Empty;
            else if (outgoingAliases.Count < serverTopicAliasMaximum) outgoingAliases[topic] = alias = (ushort)(outgoingAliases.Count + 1);
            if (alias != 0)
            {
                // A copy: the message's own properties are the application's (the expiry above may have copied already).
                if (properties is null) properties = new MqttProperties();
                else if (ReferenceEquals(properties, m.Properties)) properties = properties.Clone();
                properties.TopicAlias = alias;
            }
        }
        MqttPacketEncoder.WritePublish(output, Version, topic, m.Payload.Span, m.QualityOfService, m.Retain, duplicate, delivery.PacketId, properties);
        lastSentAt = now;
    }

    private void Write(MqttPacket packet, IBufferWriter<byte> output, long now)
    {
        MqttPacketEncoder.Write(packet, Version, output);
        lastSentAt = now;
    }

    private static void Complete(MqttDelivery delivery, MqttDeliveryOutcome outcome, MqttReasonCode code, string? reason, IMqttClientObserver observer)
    {
        delivery.Step = MqttDelivery.Stage.Done;
        delivery.Outcome = outcome;
        delivery.ReasonCode = code;
        delivery.Reason = reason;
        delivery.Completed?.Invoke(delivery);
        observer.OnPublishDone(delivery);
    }

    private ushort NextPacketId()
    {
        for (int i = 0; i < ushort.MaxValue; i++)
        {
            nextPacketId = nextPacketId == ushort.MaxValue ? (ushort)1 : (ushort)(nextPacketId + 1);
            if (!inflight.ContainsKey(nextPacketId) && !requests.ContainsKey(nextPacketId)) return nextPacketId;
        }
        throw new InvalidOperationException("all 65,535 packet identifiers are in use");
    }

    internal static string Truncate(string text) => text.Length <= 200 ? text : text[..200];
}
