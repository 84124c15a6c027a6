namespace Meerkat;

/// <summary>
/// The one vocabulary of events a <see cref="Connection"/> raises to its handler.
/// </summary>
/// <remarks>
/// <para>Every event is raised on the thread that calls <see cref="Manager.Poll"/>. Spans in
/// <see cref="Event.Data"/> are valid only for the duration of the callback.</para>
/// <list type="table">
/// <listheader><term>event</term><description>when it fires; its data</description></listheader>
/// <item><term><see cref="Open"/></term><description>First event of every connection, exactly once. No data.</description></item>
/// <item><term><see cref="Accept"/></term><description>An accepted connection is ready (after its <see cref="Open"/>). No data.</description></item>
/// <item><term><see cref="Resolve"/></term><description>An outbound connection's host name was resolved. No data.</description></item>
/// <item><term><see cref="Connect"/></term><description>An outbound connection is established. Never raised after a connect failure.</description></item>
/// <item><term><see cref="Read"/></term><description>Bytes arrived. <see cref="Event.Data"/> is the bytes just read; <see cref="Connection.Received"/> holds everything not yet consumed. On a datagram connection, one event per datagram.</description></item>
/// <item><term><see cref="Write"/></term><description>Bytes left the send buffer. <see cref="Event.Count"/> is how many. The drain signal for producers.</description></item>
/// <item><term><see cref="Poll"/></term><description>Once per loop iteration, on every live connection. No data.</description></item>
/// <item><term><see cref="Timer"/></term><description>A connection timer fired. <see cref="Event.Timer"/> is the timer.</description></item>
/// <item><term><see cref="Wakeup"/></term><description>A payload sent with <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/> from any thread. <see cref="Event.Data"/> is the payload.</description></item>
/// <item><term><see cref="Error"/></term><description>Something failed. <see cref="Event.Error"/> describes it. Always followed by <see cref="Close"/>.</description></item>
/// <item><term><see cref="Close"/></term><description>Last event of every connection, exactly once.</description></item>
/// <item><term><see cref="HttpHeaders"/></term><description>An HTTP message head was parsed: a transaction begins.</description></item>
/// <item><term><see cref="HttpBody"/></term><description>A piece of a streamed HTTP body (de-chunked). <see cref="Event.Data"/> is the piece.</description></item>
/// <item><term><see cref="HttpMessage"/></term><description>The whole HTTP message has been received.</description></item>
/// <item><term><see cref="HttpDone"/></term><description>Server: the response is fully written. Client: the response is fully received. The transaction ends.</description></item>
/// <item><term><see cref="TlsHandshake"/></term><description>The TLS handshake completed.</description></item>
/// <item><term><see cref="WsOpen"/></term><description>A WebSocket handshake completed.</description></item>
/// <item><term><see cref="WsMessage"/></term><description>A whole WebSocket message (or a fragment, when streaming). <see cref="Event.Data"/> is the payload.</description></item>
/// <item><term><see cref="WsControl"/></term><description>A WebSocket ping, pong or close frame arrived.</description></item>
/// <item><term><see cref="MqttConnAck"/></term><description>MQTT client: the broker answered CONNECT (accepted or refused). <c>e.Mqtt.ConnAck</c> is the packet. A refusal is followed by <see cref="Error"/> and <see cref="Close"/>.</description></item>
/// <item><term><see cref="MqttMessage"/></term><description>MQTT client: an application message arrived. <see cref="Event.Data"/> is the payload; <c>e.Mqtt.Publish</c> has the topic, QoS, flags and properties.</description></item>
/// <item><term><see cref="MqttPublishDone"/></term><description>MQTT client: an outgoing message ended (QoS 0: written; QoS 1/2: acknowledged; or rejected; or not delivered because the session ended). <c>e.Mqtt.Delivery</c> says which. Exactly once per message.</description></item>
/// <item><term><see cref="MqttSubAck"/></term><description>MQTT client: SUBACK arrived, or the session ended with the SUBSCRIBE unanswered. <c>e.Mqtt.Request</c> holds the reason codes.</description></item>
/// <item><term><see cref="MqttUnsubAck"/></term><description>MQTT client: UNSUBACK arrived (or the session ended first). <c>e.Mqtt.Request</c>.</description></item>
/// <item><term><see cref="MqttDisconnect"/></term><description>MQTT client: the broker sent DISCONNECT (5.0). <c>e.Mqtt.Disconnect</c> has its reason code. <see cref="Close"/> follows.</description></item>
/// </list>
/// </remarks>
public enum EventKind
{
    /// <summary>First event of every connection.</summary>
    Open,
    /// <summary>An accepted connection is ready.</summary>
    Accept,
    /// <summary>The host name of an outbound connection was resolved.</summary>
    Resolve,
    /// <summary>An outbound connection is established.</summary>
    Connect,
    /// <summary>Bytes (or one datagram) arrived.</summary>
    Read,
    /// <summary>Bytes were written from the send buffer.</summary>
    Write,
    /// <summary>Once per loop iteration.</summary>
    Poll,
    /// <summary>A connection timer fired.</summary>
    Timer,
    /// <summary>A cross-thread wakeup payload arrived.</summary>
    Wakeup,
    /// <summary>An error occurred; <see cref="Close"/> follows.</summary>
    Error,
    /// <summary>Last event of every connection.</summary>
    Close,
    /// <summary>An HTTP message head was parsed.</summary>
    HttpHeaders,
    /// <summary>A piece of an HTTP body arrived.</summary>
    HttpBody,
    /// <summary>A whole HTTP message arrived.</summary>
    HttpMessage,
    /// <summary>An HTTP transaction ended.</summary>
    HttpDone,
    /// <summary>The TLS handshake completed.</summary>
    TlsHandshake,
    /// <summary>A WebSocket connection is open.</summary>
    WsOpen,
    /// <summary>A WebSocket message arrived.</summary>
    WsMessage,
    /// <summary>A WebSocket control frame arrived.</summary>
    WsControl,
    /// <summary>MQTT: CONNACK arrived.</summary>
    MqttConnAck,
    /// <summary>MQTT: an application message arrived.</summary>
    MqttMessage,
    /// <summary>MQTT: an outgoing message ended.</summary>
    MqttPublishDone,
    /// <summary>MQTT: SUBACK arrived.</summary>
    MqttSubAck,
    /// <summary>MQTT: UNSUBACK arrived.</summary>
    MqttUnsubAck,
    /// <summary>MQTT: the broker sent DISCONNECT.</summary>
    MqttDisconnect,
}
