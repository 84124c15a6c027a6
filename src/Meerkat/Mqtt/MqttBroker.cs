// How this file works: the embedded broker's session layer, without sockets (listeners are in
// MqttBrokerExtensions.cs). It owns the sessions by client identifier, the subscription trie, the
// retained messages and the optional persistent store; MqttBrokerConnection hands it decoded
// packets. Every entry point runs on the loop thread and ends with Commit: the store is synced
// (fsync) and WebSocket links flushed before the loop's write phase sends any acknowledgement.
//
// Routing (MQTT 5.0 §4.5, §4.7, §4.8): a message goes once to each session with a matching
// subscription, at the highest QoS of its matching subscriptions capped by the publish QoS, with
// all their subscription identifiers; No Local skips the publisher's own session; RETAIN is kept
// only for Retain As Published. QoS 0 goes only to connected clients (dropped when their send
// buffer is full); QoS 1/2 are sent while the client's window has room, else queued (bounded).
namespace Meerkat.Mqtt;

/// <summary>
/// An embedded MQTT broker (3.1.1 and 5.0 clients at once): QoS 0/1/2, retained messages, wills
/// (with 5.0 will delay), persistent sessions with bounded queues, shared subscriptions, topic
/// aliases, keep-alive enforcement, authentication and authorization hooks, and an optional
/// persistent store. Listen with <see cref="MqttBrokerExtensions"/>; every member runs on the loop thread.
/// </summary>
/// <remarks>
/// A broker serves one <see cref="Meerkat.Manager"/>: its listeners (TCP, TLS, WebSocket, as many as wanted) must all
/// be on that manager, and <c>ListenMqtt</c> on another throws. Its state is shared by all its clients without locks,
/// and routing writes into each subscriber's send buffer, which only that connection's loop thread may touch.
/// </remarks>
public sealed class MqttBroker : IDisposable
{
    private readonly Dictionary<string, MqttBrokerSession> sessions = new(StringComparer.Ordinal);
    private readonly MqttSubscriptionTree tree = new();
    private readonly Dictionary<string, MqttBrokerMessage> retained = new(StringComparer.Ordinal);
    private readonly List<MqttBrokerConnection> connections = [];
    private readonly List<MqttBrokerConnection> dirty = [];
    private readonly List<MqttBrokerSubscription> matches = [];
    private readonly Dictionary<MqttBrokerSession, int> bySession = [];
    private readonly List<(MqttBrokerSession Session, MqttQualityOfService QoS, bool RetainAsPublished, List<int>? Ids)> accumulated = [];
    private readonly Dictionary<string, (MqttApplicationMessage Will, long DueAt)> delayedWills = new(StringComparer.Ordinal);
    private readonly MqttBrokerStore? store;

    /// <summary>Creates a broker; with <see cref="MqttBrokerOptions.DataDirectory"/> its store is opened and recovered now.</summary>
    /// <exception cref="IOException">The data directory cannot be used.</exception>
    public MqttBroker(MqttBrokerOptions? options = null)
    {
        Options = options ?? new MqttBrokerOptions();
        Options.Validate();
        if (Options.DataDirectory is { } directory)
        {
            store = new MqttBrokerStore(directory);
            store.Recover(this, Environment.TickCount64);
        }
    }

    /// <summary>The settings.</summary>
    public MqttBrokerOptions Options { get; }

    /// <summary>Clients connected (CONNECT accepted).</summary>
    public int ConnectedCount { get; private set; }

    /// <summary>Sessions held, online and offline.</summary>
    public int SessionCount => sessions.Count;

    /// <summary>Retained messages held.</summary>
    public int RetainedCount => retained.Count;

    /// <summary>Subscriptions held.</summary>
    public int SubscriptionCount => tree.Count;

    /// <summary>Messages dropped because a session's queue was full, a client's send buffer was full (QoS 0), or too large for a client.</summary>
    public long DroppedCount { get; private set; }

    /// <summary>Publishes a message from the application, routed like a client's (and retained if flagged).</summary>
    /// <exception cref="ArgumentException">The topic is invalid.</exception>
    public void Publish(MqttApplicationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!MqttTopic.IsValidName(message.Topic)) throw new ArgumentException($"'{message.Topic}' is not a valid topic name", nameof(message));
        long now = Clock();
        var packet = new MqttPublishPacket { Topic = message.Topic, Payload = message.Payload, QualityOfService = message.QualityOfService, Retain = message.Retain, Properties = message.Properties };
        Route(Store(packet, null, now), null, now);
        Commit();
    }

    /// <summary>Closes the store. Connections are not touched (they belong to the manager).</summary>
    public void Dispose() => store?.Dispose();

    /// <summary>The broker's clock, monotonic milliseconds; the only place it reads time (tests replace it).</summary>
    internal Func<long> Clock { get; set; } = static () => Environment.TickCount64;

    // ------------------------------------------------------------------ connections (from the listeners)

    /// <summary>Topic names seen, so a PUBLISH to a known topic allocates no string.</summary>
    internal MqttTopicCache Topics { get; } = new();

    /// <summary>The manager whose loop runs this broker: set by its first listener, and every later one must share it.</summary>
    internal Manager? Manager { get; set; }

    /// <summary>The listeners serving this broker (their ticker stops with the last).</summary>
    internal List<Connection> Listeners { get; } = [];

    internal MqttBrokerConnection Accept(IMqttLink link)
    {
        var connection = new MqttBrokerConnection(this, link, Clock());
        connections.Add(connection);
        return connection;
    }

    internal void Receive(MqttBrokerConnection connection, ReadOnlyMemory<byte> data)
    {
        connection.Receive(data, Clock());
        Commit();
    }

    /// <summary>The transport closed: publish the will (or delay it), then keep or end the session.</summary>
    internal void Closed(MqttBrokerConnection connection)
    {
        long now = Clock();
        connections.Remove(connection);
        connection.Dispose();
        var session = connection.Session;
        if (session is null || session.Connection != connection)
        {
            if (session is not null && connection.Will is { } takenOverWill) PublishWill(takenOverWill, now);
            Commit();
            return;
        }
        ConnectedCount--;
        session.Connection = null;
        if (connection.Will is { } will)
        {
            uint delay = Math.Min(will.Properties?.WillDelayInterval ?? 0, session.ExpiryInterval);
            if (delay == 0) PublishWill(will, now);
            else delayedWills[session.ClientId] = (will, now + delay * 1000L);
        }
        if (!session.IsPersistent) EndSession(session);
        else session.ExpiresAt = session.ExpiryInterval == uint.MaxValue ? long.MaxValue : now + session.ExpiryInterval * 1000L;
        if (Options.ClientDisconnected is { } disconnected) disconnected(connection.Info!);
        Commit();
    }

    /// <summary>Keep-alive (1.5 × Keep Alive, §3.1.2.10), CONNECT (and its authentication) timeout, session expiry and delayed wills.</summary>
    internal void Tick()
    {
        long now = Clock();
        long connectTimeout = (long)Options.ConnectTimeout.TotalMilliseconds;
        foreach (var connection in connections.ToList())
        {
            if (connection.State is MqttBrokerConnection.ConnectionState.AwaitingConnect or MqttBrokerConnection.ConnectionState.Authenticating
                && now - connection.OpenedAt > connectTimeout) connection.Close();
            else if (connection.State == MqttBrokerConnection.ConnectionState.Connected && connection.KeepAliveMs > 0 && now - connection.LastReceivedAt > connection.KeepAliveMs * 3 / 2)
                connection.Fail(new MqttProtocolException(MqttReasonCode.KeepAliveTimeout, "nothing received within 1.5 times the keep alive"), now);
        }
        foreach (var (clientId, (will, dueAt)) in delayedWills.ToList())
        {
            if (dueAt > now) continue;
            delayedWills.Remove(clientId);
            PublishWill(will, now);
        }
        foreach (var session in sessions.Values.Where(s => s.Connection is null && s.ExpiresAt <= now).ToList()) EndSession(session);
        Commit();
    }

    internal void MarkDirty(MqttBrokerConnection connection) => dirty.Add(connection);

    internal void Flush(MqttBrokerConnection connection) => connection.FlushLink();

    /// <summary>End of an entry point: make what was acknowledged durable, then let the links send.</summary>
    private void Commit()
    {
        store?.Sync();
        foreach (var connection in dirty) connection.FlushLink();
        dirty.Clear();
    }

    // ------------------------------------------------------------------ sessions

    internal (MqttBrokerSession Session, bool Present) OpenSession(MqttBrokerConnection connection, string clientId, bool cleanStart, uint expiry, long now)
    {
        delayedWills.Remove(clientId);
        if (sessions.TryGetValue(clientId, out var existing))
        {
            if (existing.Connection is { } old)
            {
                // Session taken over (§3.1.4): the old connection goes, its will with it unless delayed.
                old.Fail(new MqttProtocolException(MqttReasonCode.SessionTakenOver, "another connection took over the session"), now);
                if (old.Will?.Properties?.WillDelayInterval is > 0 && !cleanStart) old.Will = null;
                existing.Connection = null;
                ConnectedCount--;
            }
            if (cleanStart) EndSession(existing);
        }
        bool present = !cleanStart && sessions.ContainsKey(clientId);
        if (!present)
        {
            existing = new MqttBrokerSession(clientId);
            sessions[clientId] = existing;
        }
        var session = existing!;
        session.ExpiryInterval = expiry;
        session.ExpiresAt = long.MaxValue;
        session.Connection = connection;
        ConnectedCount++;
        store?.SaveSession(session);
        return (session, present);
    }

    private void EndSession(MqttBrokerSession session)
    {
        foreach (var subscription in session.Clear()) tree.Remove(subscription);
        sessions.Remove(session.ClientId);
        if (session.Connection is null && delayedWills.Remove(session.ClientId, out var pending)) PublishWill(pending.Will, Clock());
        store?.RemoveSession(session);
    }

    /// <summary>After CONNACK on a present session: resend what is unacknowledged, in order (§4.4), then queued messages.</summary>
    internal void Resume(MqttBrokerSession session, long now)
    {
        var connection = session.Connection!;
        if (session.InflightCount > 0) foreach (var outgoing in session.Inflight.Values.OrderBy(o => o.PacketId).ToList())
        {
            if (outgoing.Step == MqttOutgoing.Stage.AwaitingPubComp) connection.WriteResponse(MqttPacketType.PubRel, outgoing.PacketId);
            else if (!connection.WritePublish(outgoing.Message, outgoing.QualityOfService, outgoing.Retain, outgoing.SubscriptionIds, outgoing.PacketId, true, now)) Drop(session, outgoing);
        }
        Pump(session, now);
    }

    // ------------------------------------------------------------------ publishing and routing

    internal void Publish(MqttBrokerConnection connection, MqttPublishPacket publish, long now)
    {
        if (Options.MessagePublished is { } published) published(connection.Info!, publish);
        Route(Store(publish, connection.Session!.ClientId, now), connection.Session, now);
    }

    /// <summary>Copies the message out of the receive buffer; handles RETAIN (§3.3.1.3).</summary>
    private MqttBrokerMessage Store(MqttPublishPacket publish, string? publisherId, long now)
    {
        var properties = publish.Properties;
        long expiresAt = properties?.MessageExpiryInterval is { } seconds ? now + seconds * 1000L : long.MaxValue;
        if (properties is not null && (properties.TopicAlias is not null || properties.SubscriptionIdentifiers is not null))
        {
            properties = properties.Clone();
            properties.TopicAlias = null;
            properties.SubscriptionIdentifiers = null;
        }
        var message = new MqttBrokerMessage(publish.Topic, publish.Payload.ToArray(), publish.QualityOfService, publish.Retain, properties, publisherId, expiresAt);
        if (publish.Retain)
        {
            if (message.Payload.Length == 0)
            {
                if (retained.Remove(message.Topic)) store?.ClearRetained(message.Topic);
            }
            else
            {
                retained[message.Topic] = message;
                store?.SaveRetained(message);
            }
        }
        return message;
    }

    private void Route(MqttBrokerMessage message, MqttBrokerSession? publisher, long now)
    {
        matches.Clear();
        tree.Match(message.Topic, matches);
        if (matches.Count == 1)
        {
            var only = matches[0];
            if (!(only.Options.NoLocal && only.Session == publisher))
                Deliver(only.Session, message, Min(message.QualityOfService, only.Options.MaximumQoS), only.Options.RetainAsPublished && message.Retain,
                    only.SubscriptionId > 0 ? [only.SubscriptionId] : null, now);
            return;
        }
        // Several subscriptions may match for one session: one copy each, at the highest QoS, with
        // every subscription identifier (§3.3.4).
        bySession.Clear();
        accumulated.Clear();
        foreach (var match in matches)
        {
            if (match.Options.NoLocal && match.Session == publisher) continue;
            var qos = match.Options.MaximumQoS;
            if (!bySession.TryGetValue(match.Session, out int slot))
            {
                bySession[match.Session] = accumulated.Count;
                accumulated.Add((match.Session, qos, match.Options.RetainAsPublished, match.SubscriptionId > 0 ? [match.SubscriptionId] : null));
                continue;
            }
            var (session, best, retainAsPublished, ids) = accumulated[slot];
            if (match.SubscriptionId > 0) (ids ??= []).Add(match.SubscriptionId);
            accumulated[slot] = (session, qos > best ? qos : best, retainAsPublished || match.Options.RetainAsPublished, ids);
        }
        foreach (var (session, qos, retainAsPublished, ids) in accumulated)
            Deliver(session, message, Min(message.QualityOfService, qos), retainAsPublished && message.Retain, ids, now);
    }

    private void Deliver(MqttBrokerSession session, MqttBrokerMessage message, MqttQualityOfService qos, bool retain, List<int>? subscriptionIds, long now)
    {
        if (message.ExpiresAt <= now) return;
        var connection = session.Connection;
        if (qos == MqttQualityOfService.AtMostOnce)
        {
            if (connection is { IsReady: true, Link.IsWritable: true }) { if (!connection.WritePublish(message, qos, retain, subscriptionIds, 0, false, now)) DroppedCount++; }
            else if (connection is not null) DroppedCount++;
            return;
        }
        var outgoing = new MqttOutgoing(message, qos, retain, subscriptionIds);
        if (connection is { IsReady: true } && session.QueuedCount == 0 && session.InflightCount < connection.SendWindow)
        {
            if (session.IsPersistent) store?.Enqueue(session, outgoing);
            Send(session, outgoing, now);
            return;
        }
        if (session.QueuedCount >= Options.MaxQueuedMessages)
        {
            session.Dropped++;
            DroppedCount++;
            return;
        }
        session.Queued.Enqueue(outgoing);
        if (session.IsPersistent) store?.Enqueue(session, outgoing);
    }

    private void Send(MqttBrokerSession session, MqttOutgoing outgoing, long now)
    {
        outgoing.PacketId = session.NextPacketId();
        outgoing.Step = outgoing.QualityOfService == MqttQualityOfService.AtLeastOnce ? MqttOutgoing.Stage.AwaitingPubAck : MqttOutgoing.Stage.AwaitingPubRec;
        session.Inflight[outgoing.PacketId] = outgoing;
        // The identifier is stored (and synced before the PUBLISH leaves) so that a resend after a
        // restart carries the same one: the client recognizes a QoS 2 message it already has.
        if (session.IsPersistent) store?.Sent(session, outgoing);
        if (!session.Connection!.WritePublish(outgoing.Message, outgoing.QualityOfService, outgoing.Retain, outgoing.SubscriptionIds, outgoing.PacketId, false, now))
            Drop(session, outgoing);
    }

    private void Drop(MqttBrokerSession session, MqttOutgoing outgoing)
    {
        session.Inflight.Remove(outgoing.PacketId);
        DroppedCount++;
        if (session.IsPersistent) store?.Acknowledge(session, outgoing);
    }

    /// <summary>Sends queued messages while the client's window has room; expired ones are discarded.</summary>
    private void Pump(MqttBrokerSession session, long now)
    {
        while (session.Connection is { IsReady: true } connection && session.InflightCount < connection.SendWindow && session.QueuedCount > 0 && session.Queued.TryDequeue(out var outgoing))
        {
            if (outgoing.Message.ExpiresAt <= now)
            {
                if (session.IsPersistent) store?.Acknowledge(session, outgoing);
                continue;
            }
            Send(session, outgoing, now);
        }
    }

    internal void Acknowledge(MqttBrokerSession session, MqttPacketType type, ushort packetId, MqttReasonCode code, long now)
    {
        if (session.InflightCount == 0 || !session.Inflight.TryGetValue(packetId, out var outgoing)) return;
        var expected = outgoing.Step switch
        {
            MqttOutgoing.Stage.AwaitingPubAck => MqttPacketType.PubAck,
            MqttOutgoing.Stage.AwaitingPubRec => MqttPacketType.PubRec,
            _ => MqttPacketType.PubComp,
        };
        if (type == MqttPacketType.PubRec && outgoing.Step == MqttOutgoing.Stage.AwaitingPubComp) expected = MqttPacketType.PubRec;
        if (type != expected)
            throw MqttProtocolException.Protocol($"{MqttPacketDecoder.Name(type)} for packet {packetId}, which awaits {MqttPacketDecoder.Name(expected)}");
        if (type == MqttPacketType.PubRec && code.IsSuccess())
        {
            if (outgoing.Step != MqttOutgoing.Stage.AwaitingPubComp && session.IsPersistent) store?.Release(session, outgoing);
            outgoing.Step = MqttOutgoing.Stage.AwaitingPubComp;
            session.Connection!.WriteResponse(MqttPacketType.PubRel, outgoing.PacketId);
            return;
        }
        session.Inflight.Remove(packetId);
        if (session.IsPersistent) store?.Acknowledge(session, outgoing);
        Pump(session, now);
    }

    internal void MarkReceivedQos2(MqttBrokerSession session, ushort packetId)
    {
        session.ReceivedQos2.Add(packetId);
        if (session.IsPersistent) store?.SaveReceivedQos2(session, packetId, true);
    }

    internal bool ReleaseReceivedQos2(MqttBrokerSession session, ushort packetId)
    {
        if (session.ReceivedQos2Count == 0 || !session.ReceivedQos2.Remove(packetId)) return false;
        if (session.IsPersistent) store?.SaveReceivedQos2(session, packetId, false);
        return true;
    }

    private void PublishWill(MqttApplicationMessage will, long now)
    {
        if (Options.Authorize is { } authorize && !authorize(new MqttAuthorizationContext("", null, MqttTopicAction.Publish, will.Topic))) return;
        var properties = will.Properties;
        if (properties?.WillDelayInterval is not null)
        {
            // Will Delay is a property of the will, not of the message (§3.1.3.2): it is not forwarded.
            properties = properties.Clone();
            properties.WillDelayInterval = null;
        }
        var packet = new MqttPublishPacket { Topic = will.Topic, Payload = will.Payload, QualityOfService = will.QualityOfService, Retain = will.Retain, Properties = properties };
        Route(Store(packet, null, now), null, now);
    }

    private static MqttQualityOfService Min(MqttQualityOfService a, MqttQualityOfService b) => a < b ? a : b;

    // ------------------------------------------------------------------ subscriptions

    internal void Subscribe(MqttBrokerConnection connection, MqttSubscribePacket subscribe, long now)
    {
        var session = connection.Session!;
        bool v5 = connection.Version == MqttProtocolVersion.V500;
        int subscriptionId = subscribe.Properties?.SubscriptionIdentifiers is [var id, ..] ? id : 0;
        var codes = new List<MqttReasonCode>(subscribe.Subscriptions.Count);
        var toSendRetained = new List<(MqttBrokerSubscription Subscription, bool IsNew)>();
        foreach (var requested in subscribe.Subscriptions)
        {
            var code = Check(connection, requested.Filter);
            codes.Add(code.IsSuccess() ? (MqttReasonCode)requested.MaximumQoS : code);
            if (!code.IsSuccess()) continue;
            string? group = null;
            string topicFilter = requested.Filter;
            if (MqttTopic.TrySplitShared(requested.Filter, out var groupSpan, out var inner))
            {
                group = groupSpan.ToString();
                topicFilter = inner.ToString();
            }
            var subscription = new MqttBrokerSubscription(session, requested.Filter, v5 ? requested : requested with { NoLocal = false, RetainAsPublished = false, RetainHandling = 0 },
                subscriptionId, group, topicFilter);
            bool isNew = !session.Subscriptions.Remove(requested.Filter, out var previous);
            if (previous is not null) tree.Remove(previous);
            session.Subscriptions[requested.Filter] = subscription;
            tree.Add(subscription);
            if (session.IsPersistent) store?.SaveSubscription(session, subscription);
            if (group is null) toSendRetained.Add((subscription, isNew));
        }
        connection.Write(new MqttSubscribeAckPacket(false, subscribe.PacketId, codes));
        foreach (var (subscription, isNew) in toSendRetained) SendRetained(session, subscription, isNew, now);
    }

    /// <summary>Why a filter cannot be subscribed to, or success.</summary>
    private MqttReasonCode Check(MqttBrokerConnection connection, string filter)
    {
        if (!MqttTopic.IsValidFilter(filter)) return MqttReasonCode.TopicFilterInvalid;
        if (Options.Authorize?.Invoke(new MqttAuthorizationContext(connection.Session!.ClientId, connection.UserName, MqttTopicAction.Subscribe, filter)) == false)
            return MqttReasonCode.NotAuthorized;
        return MqttReasonCode.Success;
    }

    /// <summary>Retained messages for a new subscription (§3.3.1.3), per its Retain Handling; never for shared ones.</summary>
    private void SendRetained(MqttBrokerSession session, MqttBrokerSubscription subscription, bool isNew, long now)
    {
        var handling = subscription.Options.RetainHandling;
        if (handling == MqttRetainHandling.DoNotSend || handling == MqttRetainHandling.SendAtSubscribeIfNew && !isNew) return;
        foreach (var message in retained.Values.ToList())
        {
            if (message.ExpiresAt <= now)
            {
                retained.Remove(message.Topic);
                store?.ClearRetained(message.Topic);
                continue;
            }
            if (!MqttTopic.Matches(subscription.TopicFilter, message.Topic)) continue;
            Deliver(session, message, Min(message.QualityOfService, subscription.Options.MaximumQoS), retain: true,
                subscription.SubscriptionId > 0 ? [subscription.SubscriptionId] : null, now);
        }
    }

    internal void Unsubscribe(MqttBrokerConnection connection, MqttUnsubscribePacket unsubscribe)
    {
        var session = connection.Session!;
        var codes = new List<MqttReasonCode>(unsubscribe.Filters.Count);
        foreach (var filter in unsubscribe.Filters)
        {
            if (session.SubscriptionCount > 0 && session.Subscriptions.Remove(filter, out var subscription))
            {
                tree.Remove(subscription);
                if (session.IsPersistent) store?.RemoveSubscription(session, filter);
                codes.Add(MqttReasonCode.Success);
            }
            else
            {
                codes.Add(MqttReasonCode.NoSubscriptionExisted);
            }
        }
        connection.Write(new MqttSubscribeAckPacket(true, unsubscribe.PacketId, codes));
    }

    // ------------------------------------------------------------------ recovery (from the store)

    internal MqttBrokerSession RecoverSession(string clientId, uint expiry, long expiresAt)
    {
        var session = new MqttBrokerSession(clientId) { ExpiryInterval = expiry, ExpiresAt = expiresAt };
        sessions[clientId] = session;
        return session;
    }

    internal void RecoverSubscription(MqttBrokerSession session, string filter, MqttSubscription options, int subscriptionId)
    {
        string? group = null;
        string topicFilter = filter;
        if (MqttTopic.TrySplitShared(filter, out var g, out var inner))
        {
            group = g.ToString();
            topicFilter = inner.ToString();
        }
        var subscription = new MqttBrokerSubscription(session, filter, options, subscriptionId, group, topicFilter);
        if (session.Subscriptions.Remove(filter, out var previous)) tree.Remove(previous);
        session.Subscriptions[filter] = subscription;
        tree.Add(subscription);
    }

    internal void RecoverRetained(MqttBrokerMessage message) => retained[message.Topic] = message;

    internal IEnumerable<MqttBrokerSession> PersistentSessions => sessions.Values.Where(s => s.IsPersistent);

    internal IEnumerable<MqttBrokerMessage> RetainedMessages => retained.Values;
}
