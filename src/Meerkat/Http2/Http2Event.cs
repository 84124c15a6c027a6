// How this file works: the one event vocabulary of the HTTP/2 core, in the shape of the
// WebSocket core's: Receive returns one event at a time. Its spans and its Section view the
// caller's input or the connection's reused buffers, so they are valid until the next call.
//
// | event                | when                                              | data                                   |
// | -------------------- | ------------------------------------------------- | -------------------------------------- |
// | NeedMoreData         | all whole frames consumed, no event pending       | -                                      |
// | Headers              | a stream's header section (a request; a response, | StreamId, Section, IsEndStream         |
// |                      | 1xx ones included)                                |                                        |
// | Data                 | a piece of a stream's content                     | StreamId, Data, IsEndStream            |
// | Trailers             | a stream's trailer section; ends its message      | StreamId, Section (IsEndStream true)   |
// | StreamClosed         | a stream ended, once for every stream that had a  | StreamId, Outcome, ErrorCode,          |
// |                      | Headers event (server) or that we opened (client) | IsRefused, Reason, UserState           |
// | StreamWritable       | send window opened for a stream that had output   | StreamId                               |
// |                      | waiting (SendData took less than offered)         |                                        |
// | Settings             | the peer's SETTINGS were applied and acknowledged | -                                      |
// | SettingsAcknowledged | the peer acknowledged our SETTINGS                | -                                      |
// | Ping                 | the peer's PING (already answered)                | PingData                               |
// | PingAcknowledged     | the answer to our PING                            | PingData                               |
// | GoAway               | the peer's GOAWAY                                 | LastStreamId, ErrorCode, Data (debug)  |
// | ConnectionError      | we found a connection error and sent GOAWAY; the  | ErrorCode, Reason                      |
// |                      | connection is Closed: flush the output and close  |                                        |
using Meerkat.Http;

namespace Meerkat.Http2;

/// <summary>What an <see cref="Http2Event"/> reports.</summary>
internal enum Http2EventKind
{
    /// <summary>Nothing more until more bytes arrive.</summary>
    NeedMoreData,

    /// <summary>A stream's header section.</summary>
    Headers,

    /// <summary>A piece of a stream's content.</summary>
    Data,

    /// <summary>A stream's trailer section.</summary>
    Trailers,

    /// <summary>A stream ended (exactly once per announced stream).</summary>
    StreamClosed,

    /// <summary>A stream waiting for send window may send again.</summary>
    StreamWritable,

    /// <summary>The peer's SETTINGS were applied.</summary>
    Settings,

    /// <summary>The peer acknowledged our SETTINGS.</summary>
    SettingsAcknowledged,

    /// <summary>The peer sent PING (already answered).</summary>
    Ping,

    /// <summary>The peer answered our PING.</summary>
    PingAcknowledged,

    /// <summary>The peer sent GOAWAY.</summary>
    GoAway,

    /// <summary>We detected a connection error and sent GOAWAY; the connection is closed.</summary>
    ConnectionError,
}

/// <summary>One event from <see cref="Http2Connection.Receive"/>; valid until the next call.</summary>
internal readonly ref struct Http2Event
{
    /// <summary>What happened.</summary>
    public Http2EventKind Kind { get; init; }

    /// <summary>The stream, for stream events; 0 otherwise.</summary>
    public int StreamId { get; init; }

    /// <summary>True when this event ends the peer's message on the stream (END_STREAM).</summary>
    public bool IsEndStream { get; init; }

    /// <summary>Content (Data) or GOAWAY debug data.</summary>
    public ReadOnlySpan<byte> Data { get; init; }

    /// <summary>The header or trailer section (Headers, Trailers).</summary>
    public Http2HeaderSection? Section { get; init; }

    /// <summary>The RST_STREAM or GOAWAY code (StreamClosed, GoAway, ConnectionError).</summary>
    public Http2ErrorCode ErrorCode { get; init; }

    /// <summary>How the stream ended (StreamClosed), in the terms of HTTP transactions.</summary>
    public HttpOutcome Outcome { get; init; }

    /// <summary>True when the peer did not process the stream (REFUSED_STREAM, or above a GOAWAY's last stream): safe to retry.</summary>
    public bool IsRefused { get; init; }

    /// <summary>Why we reset the stream or failed the connection, for logs.</summary>
    public string? Reason { get; init; }

    /// <summary>The last stream identifier of the peer's GOAWAY.</summary>
    public int LastStreamId { get; init; }

    /// <summary>The 8 opaque octets of a PING.</summary>
    public ulong PingData { get; init; }

    /// <summary>The application's object for the stream (<see cref="Http2Connection.SetUserState"/>).</summary>
    public object? UserState { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} stream {StreamId}{(IsEndStream ? " end" : "")} {ErrorCode} {Outcome} {Reason}";
}

/// <summary>An event decided before the caller asked for it (a stream closed by a send, a reset, a deadline); it carries no spans.</summary>
internal readonly record struct Http2PendingEvent(
    Http2EventKind Kind, int StreamId, Http2ErrorCode ErrorCode = Http2ErrorCode.NoError, HttpOutcome Outcome = HttpOutcome.Completed,
    bool IsRefused = false, string? Reason = null, object? UserState = null)
{
    public Http2Event ToEvent() => new()
    {
        Kind = Kind, StreamId = StreamId, ErrorCode = ErrorCode, Outcome = Outcome, IsRefused = IsRefused, Reason = Reason, UserState = UserState,
    };
}

/// <summary>First-in first-out pending events over a ring that grows; a warm queue allocates nothing.</summary>
internal sealed class Http2EventQueue
{
    private Http2PendingEvent[] _items = new Http2PendingEvent[8];
    private int _head;

    /// <summary>Events waiting.</summary>
    public int Count { get; private set; }

    /// <summary>Adds an event at the end.</summary>
    public void Enqueue(in Http2PendingEvent item)
    {
        if (Count == _items.Length)
        {
            var larger = new Http2PendingEvent[_items.Length * 2];
            for (int i = 0; i < Count; i++) larger[i] = _items[(_head + i) % _items.Length];
            _items = larger;
            _head = 0;
        }

        _items[(_head + Count) % _items.Length] = item;
        Count++;
    }

    /// <summary>Takes the oldest event.</summary>
    public bool TryDequeue(out Http2PendingEvent item)
    {
        if (Count == 0)
        {
            item = default;
            return false;
        }

        item = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        Count--;
        return true;
    }
}
