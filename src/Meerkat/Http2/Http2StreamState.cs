// How this file works: the stream life cycle of RFC 9113 §5.1 as one enum and one transition
// function over (state, input). "Local" is this endpoint, "remote" its peer; END_STREAM closes
// the half of the stream of whoever sent it. Meerkat never enables server push, so the reserved
// states are named for completeness (and tested) but never reached by a connection.
//
//                          +--------+
//                  send PP |        | recv PP
//                 ,--------+  idle  +--------.
//                /         |        |         \
//               v          +--------+          v
//        +----------+          |           +----------+
//        | reserved |          | send H /  | reserved |
//        | (local)  |          | recv H    | (remote) |
//        +---+------+          v           +------+---+
//            |             +--------+             |
//            |     recv ES |        | send ES     |
//     send H |     ,-------+  open  +-------.     | recv H
//            |    /        |        |        \    |
//            v   v         +---+----+         v   v
//        +----------+          |           +----------+
//        |   half   |          |           |   half   |
//        |  closed  |          | send R /  |  closed  |
//        | (remote) |          | recv R    | (local)  |
//        +----+-----+          |           +-----+----+
//             |                |                 |
//             | send ES /      |       recv ES / |
//             | send R /       v        send R / |
//             | recv R     +--------+   recv R   |
//             `----------->|        |<-----------'
//                          | closed |
//                          +--------+
namespace Meerkat.Http2;

/// <summary>The states of an HTTP/2 stream (RFC 9113 §5.1).</summary>
internal enum Http2StreamState
{
    /// <summary>Not yet used. -> Open (HEADERS sent or received), HalfClosedLocal (HEADERS with END_STREAM sent),
    /// HalfClosedRemote (HEADERS with END_STREAM received), ReservedLocal / ReservedRemote (PUSH_PROMISE; never, push is off).</summary>
    Idle,

    /// <summary>Promised by us with PUSH_PROMISE (unused). -> HalfClosedRemote (HEADERS sent), Closed (RST_STREAM).</summary>
    ReservedLocal,

    /// <summary>Promised by the peer (unused: push is refused). -> HalfClosedLocal (HEADERS received), Closed (RST_STREAM).</summary>
    ReservedRemote,

    /// <summary>Both sides may send. -> HalfClosedLocal (we sent END_STREAM), HalfClosedRemote (the peer did), Closed (RST_STREAM).</summary>
    Open,

    /// <summary>We sent END_STREAM; the peer still sends. -> Closed (the peer's END_STREAM, or RST_STREAM).</summary>
    HalfClosedLocal,

    /// <summary>The peer sent END_STREAM; we still send. -> Closed (our END_STREAM, or RST_STREAM).</summary>
    HalfClosedRemote,

    /// <summary>Done; terminal. Late frames are ignored or answered with STREAM_CLOSED.</summary>
    Closed,
}

/// <summary>What happens to a stream (the labels of the §5.1 diagram).</summary>
internal enum Http2StreamInput
{
    /// <summary>We send HEADERS without END_STREAM.</summary>
    SendHeaders,

    /// <summary>We send a frame with END_STREAM (HEADERS or DATA).</summary>
    SendEndStream,

    /// <summary>We receive HEADERS without END_STREAM.</summary>
    ReceiveHeaders,

    /// <summary>We receive a frame with END_STREAM.</summary>
    ReceiveEndStream,

    /// <summary>We send PUSH_PROMISE.</summary>
    SendPushPromise,

    /// <summary>We receive PUSH_PROMISE.</summary>
    ReceivePushPromise,

    /// <summary>RST_STREAM sent or received.</summary>
    Reset,
}

/// <summary>The transition function of RFC 9113 §5.1.</summary>
internal static class Http2StreamStates
{
    /// <summary>
    /// The state after <paramref name="input"/>, or null when the input is not allowed in
    /// <paramref name="state"/> (the connection decides which error that is). HEADERS with
    /// END_STREAM is SendHeaders (or ReceiveHeaders) followed by the end-stream input.
    /// </summary>
    public static Http2StreamState? Next(Http2StreamState state, Http2StreamInput input) => (state, input) switch
    {
        (Http2StreamState.Idle, Http2StreamInput.SendHeaders or Http2StreamInput.ReceiveHeaders) => Http2StreamState.Open,
        (Http2StreamState.Idle, Http2StreamInput.SendPushPromise) => Http2StreamState.ReservedLocal,
        (Http2StreamState.Idle, Http2StreamInput.ReceivePushPromise) => Http2StreamState.ReservedRemote,
        (Http2StreamState.ReservedLocal, Http2StreamInput.SendHeaders) => Http2StreamState.HalfClosedRemote,
        (Http2StreamState.ReservedRemote, Http2StreamInput.ReceiveHeaders) => Http2StreamState.HalfClosedLocal,
        (Http2StreamState.Open, Http2StreamInput.SendEndStream) => Http2StreamState.HalfClosedLocal,
        (Http2StreamState.Open, Http2StreamInput.ReceiveEndStream) => Http2StreamState.HalfClosedRemote,
        (Http2StreamState.Open, Http2StreamInput.SendHeaders or Http2StreamInput.ReceiveHeaders) => Http2StreamState.Open,
        (Http2StreamState.HalfClosedLocal, Http2StreamInput.ReceiveEndStream) => Http2StreamState.Closed,
        (Http2StreamState.HalfClosedLocal, Http2StreamInput.ReceiveHeaders) => Http2StreamState.HalfClosedLocal,
        (Http2StreamState.HalfClosedRemote, Http2StreamInput.SendEndStream) => Http2StreamState.Closed,
        (Http2StreamState.HalfClosedRemote, Http2StreamInput.SendHeaders) => Http2StreamState.HalfClosedRemote,
        (not Http2StreamState.Idle and not Http2StreamState.Closed, Http2StreamInput.Reset) => Http2StreamState.Closed,
        _ => null,
    };

    /// <summary>True in the states where the peer may still send DATA and HEADERS (§5.1).</summary>
    public static bool CanReceive(Http2StreamState state) => state is Http2StreamState.Open or Http2StreamState.HalfClosedLocal;

    /// <summary>True in the states where we may still send DATA and HEADERS (§5.1).</summary>
    public static bool CanSend(Http2StreamState state) => state is Http2StreamState.Open or Http2StreamState.HalfClosedRemote;
}
