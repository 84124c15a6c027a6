// How this file works: the MQTT client on the loop. It glues one MqttClientCore (the sans-I/O
// session) to a succession of connections: it opens the transport (TCP, TLS, WebSocket with the
// "mqtt" subprotocol), feeds received packets to the core, runs a timer for keep-alive and the
// CONNACK deadline, raises the core's news as MQTT events on the current connection, and after a
// lost connection opens a new one after an exponential backoff with jitter.
//
// Session phases (ordered):
//   Running   a connection is open or a reconnect is scheduled      -> Ending (Disconnect called)
//                                                                  -> Ended (refused, lost without reconnect, disposed)
//   Ending    DISCONNECT sent; the connection closes after it      -> Ended (its Close)
//   Ended     nothing more happens; every delivery has ended.
//
// Events are raised from the loop, never inside an API call: what the core reports during
// Publish/Subscribe/Disconnect is queued and raised by a posted action.
using System.Buffers;
using Meerkat.Tls;
using Meerkat.WebSockets;

namespace Meerkat.Mqtt;

/// <summary>
/// An MQTT client session on a <see cref="Manager"/>'s loop (<c>manager.ConnectMqtt(options, handler)</c>).
/// The handler receives each connection's events (<see cref="EventKind.Open"/>, <see cref="EventKind.Connect"/>,
/// ..., <see cref="EventKind.Close"/>) and between them the MQTT events (<see cref="EventKind.MqttConnAck"/>,
/// <see cref="EventKind.MqttMessage"/>, <see cref="EventKind.MqttPublishDone"/>, <see cref="EventKind.MqttSubAck"/>,
/// <see cref="EventKind.MqttUnsubAck"/>, <see cref="EventKind.MqttDisconnect"/>; read <c>e.Mqtt</c>). With
/// <see cref="MqttClientOptions.AutoReconnect"/> a lost connection is replaced by a new one on the same session.
/// All members run on the loop thread; use <see cref="MqttClient"/> from other threads.
/// </summary>
/// <remarks>
/// Every <see cref="MqttDelivery"/> ends exactly once. Its end is raised as <see cref="EventKind.MqttPublishDone"/>
/// on the connection of the moment; one that ends while no connection can carry an event (the session ended
/// with a transport failure, or was disposed between connections) is listed in <see cref="Undelivered"/>
/// when <see cref="Ended"/> is called.
/// </remarks>
public sealed class MqttClientSession : IMqttClientObserver
{
    private enum Phase { Running, Ending, Ended }

    private readonly Manager manager;
    private readonly MqttClientOptions options;
    private readonly ConnectionHandler? handler;
    private readonly MqttClientCore core;
    private readonly MqttEventInfo info;
    private readonly MqttFrameReader reader = new();
    private readonly ArrayBufferWriter<byte> webSocketOutput = new(256);
    private readonly List<Action> deferred = [];
    private readonly List<MqttDelivery> undelivered = [];
    private readonly Uri uri;
    private Phase phase;
    private bool isWebSocket;
    private bool inApiCall;
    private int attempt;
    private ManagerTimer? tickTimer;
    private ManagerTimer? reconnectTimer;

    internal MqttClientSession(Manager manager, MqttClientOptions options, ConnectionHandler? handler)
    {
        options.Validate();
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("mqtt" or "mqtts" or "ws" or "wss"))
            throw new ArgumentException($"an MQTT broker URL is mqtt://, mqtts://, ws:// or wss://, not '{options.Url}'", nameof(options));
        this.manager = manager;
        this.options = options;
        this.handler = handler;
        uri = parsed;
        core = new MqttClientCore(options);
        info = new MqttEventInfo(this);
        reader.MaximumPacketSize = options.MaximumPacketSize;
        Open();
    }

    /// <summary>The current connection, or null between connections and after the end.</summary>
    public Connection? Connection { get; private set; }

    /// <summary>Where the current connection's MQTT handshake stands.</summary>
    public MqttClientState State => core.State;

    /// <summary>True once the session ended (see <see cref="Ended"/>).</summary>
    public bool IsEnded => phase == Phase.Ended;

    /// <summary>The client identifier (the broker's assigned one once known).</summary>
    public string ClientId => core.ClientId;

    /// <summary>The protocol version spoken.</summary>
    public MqttProtocolVersion ProtocolVersion => core.Version;

    /// <summary>The last CONNACK accepted, or null.</summary>
    public MqttConnAckPacket? ConnAck => core.ConnAck;

    /// <summary>Why the last connection ended, when it failed (a protocol error by the broker, a refusal, a timeout).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Deliveries that ended when no connection could carry their event (see remarks).</summary>
    public IReadOnlyList<MqttDelivery> Undelivered => undelivered;

    /// <summary>Called once when the session ends, on the loop thread.</summary>
    public Action<MqttClientSession>? Ended { get; set; }

    /// <summary>Called for every message received, after the <see cref="EventKind.MqttMessage"/> event; the payload is valid only during the call.</summary>
    internal Action<MqttPublishPacket>? MessageReceived { get; set; }

    /// <summary>Called after each CONNACK (accepted or refused) and after each lost connection (with null).</summary>
    internal Action<MqttConnAckPacket?, Exception?>? ConnectionChanged { get; set; }

    // ------------------------------------------------------------------ API (loop thread)

    /// <summary>Publishes a message: sent now when connected and the in-flight window allows, else queued.
    /// Its end is raised as <see cref="EventKind.MqttPublishDone"/>.</summary>
    /// <exception cref="ArgumentException">The topic is invalid.</exception>
    /// <exception cref="InvalidOperationException">The session ended, or too many messages are waiting.</exception>
    public MqttDelivery Publish(MqttApplicationMessage message)
    {
        ThrowIfEnded();
        return Api(() => core.Publish(message, Environment.TickCount64, Output, this));
    }

    /// <summary>Publishes <paramref name="payload"/> to <paramref name="topic"/>.</summary>
    public MqttDelivery Publish(string topic, ReadOnlyMemory<byte> payload, MqttQualityOfService qos = MqttQualityOfService.AtMostOnce, bool retain = false) =>
        Publish(new MqttApplicationMessage(topic, payload, qos, retain));

    /// <summary>Subscribes; the answer is raised as <see cref="EventKind.MqttSubAck"/>. Subscriptions are made again when a reconnect finds the broker lost the session.</summary>
    /// <exception cref="ArgumentException">A filter is invalid.</exception>
    public MqttSubscribeRequest Subscribe(IEnumerable<MqttSubscription> subscriptions, MqttProperties? properties = null)
    {
        ThrowIfEnded();
        return Api(() => core.Subscribe(subscriptions, properties, Environment.TickCount64, Output));
    }

    /// <summary>Subscribes to one filter.</summary>
    public MqttSubscribeRequest Subscribe(string filter, MqttQualityOfService qos = MqttQualityOfService.AtMostOnce) => Subscribe([new MqttSubscription(filter, qos)]);

    /// <summary>Unsubscribes; the answer is raised as <see cref="EventKind.MqttUnsubAck"/>.</summary>
    public MqttSubscribeRequest Unsubscribe(params IEnumerable<string> filters)
    {
        ThrowIfEnded();
        return Api(() => core.Unsubscribe(filters, Environment.TickCount64, Output));
    }

    /// <summary>5.0: re-authenticates (§4.12.1) with the <see cref="MqttClientOptions.AuthenticationMethod"/> the session connected
    /// with: AUTH 0x19 carrying <paramref name="data"/>; the broker's rounds go to <see cref="MqttClientOptions.EnhancedAuthentication"/>,
    /// which also sees its final data. A refusal ends the connection (the broker's DISCONNECT, then Close).</summary>
    /// <exception cref="InvalidOperationException">Not connected with an authentication method, or an exchange is in progress.</exception>
    public void Reauthenticate(ReadOnlyMemory<byte> data = default)
    {
        ThrowIfEnded();
        Api(() => { core.Reauthenticate(data, Environment.TickCount64, Output); return 0; });
    }

    /// <summary>Ends the session: sends DISCONNECT (5.0: with <paramref name="reason"/>; <see cref="MqttReasonCode.DisconnectWithWillMessage"/>
    /// has the will published) and closes; messages not yet acknowledged end as <see cref="MqttDeliveryOutcome.NotDelivered"/>.
    /// No reconnect follows. Idempotent.</summary>
    public void Disconnect(MqttReasonCode reason = MqttReasonCode.Success)
    {
        if (phase != Phase.Running) return;
        phase = Phase.Ending;
        reconnectTimer?.Cancel();
        // From the loop, later: called from a message handler, the acknowledgement of that message
        // must go out before DISCONNECT, and nothing may follow DISCONNECT.
        manager.Post(() =>
        {
            var connection = Connection;
            if (connection is not null && core.State is MqttClientState.Connected or MqttClientState.Connecting)
            {
                core.Disconnect(Output, reason, Environment.TickCount64);
                FlushWebSocket();
            }
            EndSession();
            if (connection is { State: < ConnectionState.Closing }) connection.CloseAfterDrain();
        });
    }

    private T Api<T>(Func<T> call)
    {
        inApiCall = true;
        try
        {
            return call();
        }
        finally
        {
            inApiCall = false;
            FlushWebSocket();
            if (deferred.Count > 0)
            {
                var events = deferred.ToList();
                deferred.Clear();
                manager.Post(() => { foreach (var raise in events) raise(); });
            }
        }
    }

    private void ThrowIfEnded()
    {
        if (phase != Phase.Running) throw new InvalidOperationException("the MQTT session has ended");
    }

    // ------------------------------------------------------------------ connections

    private IBufferWriter<byte> Output => isWebSocket ? webSocketOutput : Connection?.SendWriter ?? webSocketOutput;

    private void Open()
    {
        bool secure = uri.Scheme is "mqtts" or "wss";
        isWebSocket = uri.Scheme is "ws" or "wss";
        int port = uri.Port > 0 ? uri.Port : uri.Scheme switch { "mqtt" => 1883, "mqtts" => 8883, "ws" => 80, _ => 443 };
        var address = new NetworkAddress("tcp", uri.DnsSafeHost, port);
        if (isWebSocket)
        {
            var ws = options.WebSocket;
            var wsOptions = new WebSocketClientOptions
            {
                Subprotocols = ["mqtt"],
                Headers = ws?.Headers,
                Tls = options.Tls ?? ws?.Tls,
                HandshakeTimeout = ws?.HandshakeTimeout ?? WebSocketClientOptions.DefaultHandshakeTimeout,
                MaxMessageSize = Math.Max(options.MaximumPacketSize + 5L, ws?.MaxMessageSize ?? 0),
            };
            string url = $"{uri.Scheme}://{uri.Authority}{uri.PathAndQuery}";
            Connection = manager.ConnectWebSocket(url, OnWebSocketEvent, wsOptions);
        }
        else
        {
            var protocol = new StreamProtocol(this);
            Connection = secure
                ? manager.ConnectTls(address, handler, options.Tls ?? new TlsClientOptions(), protocol)
                : manager.Connect(address, datagram: false, handler, protocol);
        }
    }

    private void OnTransportReady(Connection connection)
    {
        if (connection != Connection || phase != Phase.Running) return;
        reader.Dispose();
        core.Start(Environment.TickCount64, Output);
        FlushWebSocket();
        var shortest = TimeSpan.FromTicks(Math.Min(Math.Min(options.ConnectTimeout.Ticks, options.PingTimeout.Ticks), options.KeepAlive > TimeSpan.Zero ? options.KeepAlive.Ticks : long.MaxValue));
        var period = TimeSpan.FromMilliseconds(Math.Clamp(shortest.TotalMilliseconds / 4, 20, 1000));
        tickTimer = manager.AddTimer(period, period, _ => OnTick(connection));
    }

    private void OnBytes(Connection connection, ReadOnlyMemory<byte> data)
    {
        if (connection != Connection) return;
        try
        {
            while (connection.State < ConnectionState.Closing && reader.TryRead(data, out int consumed, out var frame))
            {
                data = data[consumed..];
                core.Receive(MqttPacketDecoder.Decode(frame, core.Version), Environment.TickCount64, Output, this);
            }
        }
        catch (MqttProtocolException error)
        {
            LastError = error;
            manager.Log(LogSeverity.Warning, "mqtt.protocol", $"the MQTT broker broke the protocol: {error.Message}", error, connection.Id);
            core.WriteProtocolError(error, Output);
            FlushWebSocket();
            connection.CloseAfterDrain();
        }
        FlushWebSocket();
    }

    private void OnTick(Connection connection)
    {
        if (connection != Connection || connection.State >= ConnectionState.Closing) return;
        if (!core.Tick(Environment.TickCount64, Output))
        {
            var error = new TimeoutException(core.State == MqttClientState.Connecting
                ? $"no CONNACK within {options.ConnectTimeout.TotalSeconds:0.###} s"
                : $"no PINGRESP within {options.PingTimeout.TotalSeconds:0.###} s");
            LastError = error;
            manager.Fail(connection, error);
            return;
        }
        FlushWebSocket();
    }

    private void OnClosed(Connection connection)
    {
        if (connection != Connection) return;
        Connection = null;
        tickTimer?.Cancel();
        tickTimer = null;
        core.ConnectionLost();
        ConnectionChanged?.Invoke(null, LastError);
        if (phase != Phase.Running || !options.AutoReconnect) { EndSession(); return; }
        double delay = Math.Min(options.MaxReconnectDelay.TotalMilliseconds, options.ReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20)));
        delay *= 1 - Random.Shared.NextDouble() * 0.5;
        attempt++;
        reconnectTimer = manager.AddTimer(TimeSpan.FromMilliseconds(delay), TimeSpan.Zero, _ =>
        {
            reconnectTimer = null;
            if (phase == Phase.Running) Open();
        });
    }

    private void EndSession()
    {
        if (phase == Phase.Ended) return;
        phase = Phase.Ended;
        reconnectTimer?.Cancel();
        core.End(this);
        reader.Dispose();
        Ended?.Invoke(this);
    }

    private void FlushWebSocket()
    {
        if (!isWebSocket || webSocketOutput.WrittenCount == 0) return;
        if (Connection is { } connection && connection.IsWebSocket) connection.SendBinary(webSocketOutput.WrittenSpan);
        webSocketOutput.ResetWrittenCount();
    }

    /// <summary>Ends the session at once, without DISCONNECT (the broker publishes the will); the connection is closed.</summary>
    internal void Abort()
    {
        if (phase == Phase.Ended) return;
        var connection = Connection;
        phase = Phase.Ending;
        EndSession();
        connection?.Close();
    }

    // ------------------------------------------------------------------ events to the application

    private bool CanRaise => Connection is { State: < ConnectionState.Closing } c && c.IsOpenRaised;

    private void Raise(EventKind kind, ReadOnlySpan<byte> data = default)
    {
        if (Connection is { } connection) manager.RaiseToUser(connection, new Event(kind, data, subject: info));
    }

    void IMqttClientObserver.OnConnAck(MqttConnAckPacket packet)
    {
        var connection = Connection!;
        info.Set(connAck: packet);
        Raise(EventKind.MqttConnAck);
        ConnectionChanged?.Invoke(packet, null);
        if (packet.ReasonCode.IsSuccess())
        {
            attempt = 0;
            return;
        }
        // A refusal is final: retrying the same credentials would be refused again.
        var error = new MqttProtocolException(packet.ReasonCode, $"the broker refused the connection: {packet.ReasonCode} (0x{(byte)packet.ReasonCode:X2}){(packet.Properties?.ReasonString is { } why ? ": " + why : "")}");
        LastError = error;
        phase = Phase.Ending;
        EndSession();
        manager.Fail(connection, error);
    }

    void IMqttClientObserver.OnMessage(MqttPublishPacket packet)
    {
        info.Set(publish: packet);
        Raise(EventKind.MqttMessage, packet.Payload.Span);
        MessageReceived?.Invoke(packet);
    }

    void IMqttClientObserver.OnPublishDone(MqttDelivery delivery)
    {
        if (!CanRaise) { undelivered.Add(delivery); return; }
        if (inApiCall) { deferred.Add(() => RaiseDone(delivery)); return; }
        RaiseDone(delivery);
    }

    private void RaiseDone(MqttDelivery delivery)
    {
        if (!CanRaise) { undelivered.Add(delivery); return; }
        info.Set(delivery: delivery);
        Raise(EventKind.MqttPublishDone);
    }

    void IMqttClientObserver.OnSubscribeDone(MqttSubscribeRequest request)
    {
        if (!CanRaise) return;
        var kind = request.IsUnsubscribe ? EventKind.MqttUnsubAck : EventKind.MqttSubAck;
        info.Set(request: request);
        Raise(kind);
    }

    void IMqttClientObserver.OnDisconnect(MqttDisconnectPacket packet)
    {
        LastError = new MqttProtocolException(packet.ReasonCode, $"the broker disconnected: {packet.ReasonCode} (0x{(byte)packet.ReasonCode:X2}){(packet.Properties?.ReasonString is { } why ? ": " + why : "")}");
        info.Set(disconnect: packet);
        Raise(EventKind.MqttDisconnect);
    }

    // ------------------------------------------------------------------ transports

    private void OnWebSocketEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.WsOpen:
                OnTransportReady(connection);
                return;
            case EventKind.WsMessage:
                OnBytes(connection, e.Data.ToArray());
                return;
            case EventKind.WsControl:
                return;
            case EventKind.Close:
                handler?.Invoke(connection, e);
                OnClosed(connection);
                return;
        }
        handler?.Invoke(connection, e);
    }

    /// <summary>TCP and TLS: reads the receive buffer, writes into the send buffer.</summary>
    private sealed class StreamProtocol(MqttClientSession session) : Protocol
    {
        public override void OnEvent(Connection connection, Event e)
        {
            switch (e.Kind)
            {
                case EventKind.Connect:
                    session.OnTransportReady(connection);
                    break;
                case EventKind.Read:
                    var received = connection.ReceivedMemory;
                    session.OnBytes(connection, received);
                    if (connection.State < ConnectionState.Closing) connection.Consume(received.Length);
                    break;
                case EventKind.Close:
                    session.OnClosed(connection);
                    break;
            }
        }
    }
}

/// <summary>The MQTT client on the loop: <c>manager.ConnectMqtt(options, handler)</c>.</summary>
public static class MqttClientExtensions
{
    extension(Manager manager)
    {
        /// <summary>Starts an MQTT client session to <see cref="MqttClientOptions.Url"/>: the first connection's
        /// <see cref="EventKind.Open"/> comes from the next <see cref="Manager.Poll"/>; see <see cref="MqttClientSession"/>
        /// for the events. Loop thread only.</summary>
        /// <exception cref="ArgumentException">The URL or the options are invalid.</exception>
        public MqttClientSession ConnectMqtt(MqttClientOptions options, ConnectionHandler? handler = null)
        {
            ArgumentNullException.ThrowIfNull(options);
            return new MqttClientSession(manager, options, handler);
        }
    }
}
