// How this file works: one stream's bookkeeping. Two machines live here, each an enum:
//   State (RFC 9113 §5.1, Http2StreamState.cs)      who may still send frames
//   Inbound / Outbound (Http2MessagePhase, §8.1)    where each HTTP message stands: header section
//                                                   (1xx responses repeat it), then content, then done
// Objects are pooled by the stream table: Reset clears everything before reuse.
namespace Meerkat.Http2;

/// <summary>Where one direction's HTTP message stands (RFC 9113 §8.1).</summary>
internal enum Http2MessagePhase
{
    /// <summary>No final header section yet (a client may receive informational 1xx sections here). -> Content, Complete.</summary>
    Headers,

    /// <summary>The final header section passed; DATA, then optionally trailers. -> Complete.</summary>
    Content,

    /// <summary>END_STREAM passed this way. Terminal.</summary>
    Complete,
}

/// <summary>One HTTP/2 stream, owned by its connection's <see cref="Http2StreamTable"/>.</summary>
internal sealed class Http2Stream
{
    /// <summary>The stream identifier.</summary>
    public int Id { get; private set; }

    /// <summary>The §5.1 state.</summary>
    public Http2StreamState State { get; set; }

    /// <summary>The message the peer sends.</summary>
    public Http2MessagePhase Inbound { get; set; }

    /// <summary>The message we send.</summary>
    public Http2MessagePhase Outbound { get; set; }

    /// <summary>What we may still send (§6.9): may go negative when the peer lowers SETTINGS_INITIAL_WINDOW_SIZE.</summary>
    public long SendWindow { get; set; }

    /// <summary>What the peer may still send before we credit it.</summary>
    public long ReceiveWindow { get; set; }

    /// <summary>Octets consumed but not yet credited back with WINDOW_UPDATE.</summary>
    public int PendingCredit { get; set; }

    /// <summary>The peer's content-length, or -1 (§8.1.1: DATA must add up to it).</summary>
    public long DeclaredContentLength { get; set; }

    /// <summary>DATA octets received (padding excluded).</summary>
    public long ReceivedContentLength { get; set; }

    /// <summary>True when the response to this (client) stream has no content whatever its content-length: a HEAD request.</summary>
    public bool IsHeadRequest { get; set; }

    /// <summary>When the stream last found no send window for pending output (Stopwatch ticks), or -1 when it is not waiting.</summary>
    public long BlockedSince { get; set; }

    /// <summary>True once the application has heard of the stream (its Headers event, or it opened it): it then gets StreamClosed.</summary>
    public bool IsAnnounced { get; set; }

    /// <summary>The application's object for this stream, handed back with its events.</summary>
    public object? UserState { get; set; }

    /// <summary>True while the stream has output waiting for window.</summary>
    public bool IsBlocked => BlockedSince >= 0;

    /// <summary>Prepares a (possibly recycled) object for stream <paramref name="id"/>.</summary>
    public void Reset(int id, long sendWindow, long receiveWindow)
    {
        Id = id;
        State = Http2StreamState.Idle;
        Inbound = Http2MessagePhase.Headers;
        Outbound = Http2MessagePhase.Headers;
        SendWindow = sendWindow;
        ReceiveWindow = receiveWindow;
        PendingCredit = 0;
        DeclaredContentLength = -1;
        ReceivedContentLength = 0;
        IsHeadRequest = false;
        BlockedSince = -1;
        IsAnnounced = false;
        UserState = null;
    }

    /// <summary>Applies a §5.1 transition the caller has checked is allowed.</summary>
    public void Apply(Http2StreamInput input) =>
        State = Http2StreamStates.Next(State, input) ?? throw new InvalidOperationException($"stream {Id}: {input} is not allowed in {State}");
}
