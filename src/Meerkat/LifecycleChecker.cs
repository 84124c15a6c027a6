namespace Meerkat;

/// <summary>
/// Checks the lifecycle contract (DESIGN.md §3) event by event and throws
/// <see cref="LifecycleViolationException"/> the moment it breaks.
/// </summary>
/// <remarks>
/// Per connection: <c>Open</c> first, <c>Close</c> last, once each; nothing but <c>Close</c>
/// after <c>Error</c>; <c>Resolve</c>/<c>Connect</c> only on outbound connections, once each;
/// HTTP transactions <c>HttpHeaders → HttpBody* → HttpMessage → HttpDone</c> strictly one after
/// another (a server may finish its response, <c>HttpDone</c>, before the request's
/// <c>HttpMessage</c> when it rejects a request early); <c>WsOpen</c> at most once, outside an
/// HTTP transaction (after the upgrade request's <c>HttpDone</c>), <c>WsMessage</c>/<c>WsControl</c>
/// only after it and no HTTP event after it; on server and client connections, an open transaction
/// gets its <c>HttpDone</c> before <c>Error</c> or <c>Close</c>; <c>MqttConnAck</c> at most once, on an
/// outbound connection; and every event on the loop thread. On a multiplexed connection (HTTP/2,
/// <see cref="Protocol.IsMultiplexed"/>) transactions are tracked per stream, keyed on the event's
/// subject (the stream's request or response object): each follows the same order, streams interleave,
/// and every one of them must have ended before <c>Error</c> or <c>Close</c>.
/// </remarks>
internal sealed class LifecycleChecker
{
    private enum Phase { None, Opened, Errored, Closed }

    private enum Transaction { Idle, Headers, Message }

    private sealed class Track
    {
        public Phase Phase;
        public Transaction Transaction;
        public bool Resolved;
        public bool Connected;
        public bool WebSocket;
        public bool MqttConnAck;
        /// <summary>Multiplexed connections: the open transactions, by subject (one per stream).</summary>
        public Dictionary<object, Transaction>? Streams;

        public bool IsInTransaction => Transaction != Transaction.Idle || Streams is { Count: > 0 };
    }

    private readonly Dictionary<long, Track> tracks = [];

    public int OpenCount { get; private set; }

    public int CloseCount { get; private set; }

    public void Observe(Connection connection, EventKind kind, int loopThread, object? subject = null)
    {
        if (Environment.CurrentManagedThreadId != loopThread && loopThread != -1)
            Fail(connection, kind, "raised off the loop thread");
        if (!tracks.TryGetValue(connection.Id, out var track)) tracks[connection.Id] = track = new Track();
        switch (kind)
        {
            case EventKind.Open:
                Require(track.Phase == Phase.None, connection, kind, "Open raised twice");
                track.Phase = Phase.Opened;
                OpenCount++;
                return;
            case EventKind.Close:
                Require(track.Phase is Phase.Opened or Phase.Errored, connection, kind, track.Phase == Phase.None ? "Close before Open" : "Close raised twice");
                RequireTransactionEnded(connection, kind, track);
                track.Phase = Phase.Closed;
                tracks.Remove(connection.Id);
                CloseCount++;
                return;
        }
        Require(track.Phase != Phase.None, connection, kind, "event before Open");
        Require(track.Phase != Phase.Closed, connection, kind, "event after Close");
        Require(track.Phase != Phase.Errored, connection, kind, "only Close may follow Error");
        switch (kind)
        {
            case EventKind.Error:
                RequireTransactionEnded(connection, kind, track);
                track.Phase = Phase.Errored;
                break;
            case EventKind.Resolve:
                Require(connection.Role == ConnectionRole.Outbound && !track.Resolved, connection, kind, "Resolve on a non-outbound connection or twice");
                track.Resolved = true;
                break;
            case EventKind.Connect:
                Require(connection.Role == ConnectionRole.Outbound && track.Resolved && !track.Connected, connection, kind, "Connect without Resolve, twice, or not outbound");
                track.Connected = true;
                break;
            case EventKind.Accept:
                Require(connection.Role == ConnectionRole.Accepted, connection, kind, "Accept on a connection that was not accepted");
                break;
            default:
                if (kind is >= EventKind.HttpHeaders and <= EventKind.HttpDone && connection.Protocol is { IsMultiplexed: true } && subject is not null)
                    ObserveStream(connection, kind, track, subject);
                else ObserveTransaction(connection, kind, track);
                break;
        }
    }

    /// <summary>One stream of a multiplexed connection: the same order as <see cref="ObserveTransaction"/>, per subject.</summary>
    private static void ObserveStream(Connection connection, EventKind kind, Track track, object subject)
    {
        Require(!track.WebSocket, connection, kind, "HTTP event after WsOpen");
        var streams = track.Streams ??= new(ReferenceEqualityComparer.Instance);
        streams.TryGetValue(subject, out var state); // Idle when absent
        switch (kind)
        {
            case EventKind.HttpHeaders:
                Require(state == Transaction.Idle, connection, kind, "HttpHeaders twice for one stream (before its HttpDone)");
                streams[subject] = Transaction.Headers;
                break;
            case EventKind.HttpBody:
                Require(state == Transaction.Headers, connection, kind, "HttpBody outside a stream's message");
                break;
            case EventKind.HttpMessage:
                Require(state == Transaction.Headers, connection, kind, "HttpMessage without the stream's HttpHeaders");
                streams[subject] = Transaction.Message;
                break;
            default:
                Require(state != Transaction.Idle, connection, kind, "HttpDone without a transaction on this stream");
                streams.Remove(subject);
                break;
        }
    }

    private static void ObserveTransaction(Connection connection, EventKind kind, Track track)
    {
        if (kind is >= EventKind.HttpHeaders and <= EventKind.HttpDone)
            Require(!track.WebSocket, connection, kind, "HTTP event after WsOpen");
        switch (kind)
        {
            case EventKind.WsOpen:
                Require(!track.WebSocket && !track.IsInTransaction, connection, kind, "WsOpen twice or inside an HTTP transaction");
                track.WebSocket = true;
                break;
            case EventKind.WsMessage or EventKind.WsControl:
                Require(track.WebSocket, connection, kind, "WebSocket event before WsOpen");
                break;
            case EventKind.MqttConnAck:
                Require(!track.MqttConnAck && connection.Role == ConnectionRole.Outbound, connection, kind, "MqttConnAck twice or not on an outbound connection");
                track.MqttConnAck = true;
                break;
            case EventKind.HttpHeaders:
                Require(track.Transaction == Transaction.Idle, connection, kind, "HttpHeaders before the previous transaction's HttpDone");
                track.Transaction = Transaction.Headers;
                break;
            case EventKind.HttpBody:
                Require(track.Transaction == Transaction.Headers, connection, kind, "HttpBody outside a message");
                break;
            case EventKind.HttpMessage:
                Require(track.Transaction == Transaction.Headers, connection, kind, "HttpMessage without HttpHeaders");
                track.Transaction = Transaction.Message;
                break;
            case EventKind.HttpDone:
                Require(track.Transaction != Transaction.Idle, connection, kind, "HttpDone without a transaction");
                track.Transaction = Transaction.Idle;
                break;
        }
    }

    /// <summary>DESIGN.md §3.4: every HttpHeaders gets exactly one HttpDone before Close (and before Error,
    /// which only Close may follow). Checked for accepted (server) and outbound (client) connections.</summary>
    private static void RequireTransactionEnded(Connection connection, EventKind kind, Track track)
    {
        if (connection.Role is ConnectionRole.Accepted or ConnectionRole.Outbound)
            Require(!track.IsInTransaction, connection, kind, track.Streams is { Count: > 0 } streams
                ? $"{streams.Count} HTTP/2 stream transaction(s) still open (HttpHeaders without their HttpDone)"
                : "an HTTP transaction is still open (HttpHeaders without its HttpDone)");
    }

    private static void Require(bool condition, Connection connection, EventKind kind, string rule)
    {
        if (!condition) Fail(connection, kind, rule);
    }

    private static void Fail(Connection connection, EventKind kind, string rule) =>
        throw new LifecycleViolationException($"lifecycle violation on connection #{connection.Id} ({connection.Role}): {kind}: {rule}");
}
