// How this file works: the flow-control windows of RFC 9113 §5.2 and §6.9, both ways.
//   send     what the peer lets us send: the connection window and each stream's. DATA may go
//            out only within both. A stream that could not send all it had is "blocked" (with
//            the time it blocked, for the stall defence) until a WINDOW_UPDATE, or a larger
//            SETTINGS_INITIAL_WINDOW_SIZE, gives both windows room again: then it gets a
//            StreamWritable event.
//   receive  what we let the peer send. DATA counts against both windows as it arrives, padding
//            included; credit comes back with WINDOW_UPDATE once half a window has been consumed,
//            so a steady stream costs one update per half window, not one per frame.
//            The connection's credit returns as soon as DATA is delivered (the core buffers
//            nothing), a stream's when its consumer says so (or at delivery, by default): the
//            stream windows then bound what a slow consumer can be sent.
using System.Buffers;

namespace Meerkat.Http2;

/// <summary>Connection-level windows and the crediting policy for both levels.</summary>
internal sealed class Http2FlowControl
{
    private readonly IBufferWriter<byte> _output;
    private readonly int _connectionWindowTarget;
    private int _connectionPendingCredit;

    /// <summary>Creates the windows; the connection receive window starts at 65,535 until <see cref="OpenConnectionWindow"/>.</summary>
    public Http2FlowControl(IBufferWriter<byte> output, int connectionWindowTarget)
    {
        _output = output;
        _connectionWindowTarget = connectionWindowTarget;
    }

    /// <summary>What we may still send on the connection.</summary>
    public long ConnectionSendWindow { get; private set; } = Http2Settings.DefaultWindowSize;

    /// <summary>What the peer may still send on the connection.</summary>
    public long ConnectionReceiveWindow { get; private set; } = Http2Settings.DefaultWindowSize;

    /// <summary>The stream receive window the peer believes in (our acknowledged SETTINGS_INITIAL_WINDOW_SIZE).</summary>
    public int StreamWindowTarget { get; set; } = Http2Settings.DefaultWindowSize;

    /// <summary>Raises the connection receive window to its target with a WINDOW_UPDATE (sent once, at start).</summary>
    public void OpenConnectionWindow()
    {
        int increment = _connectionWindowTarget - Http2Settings.DefaultWindowSize;
        if (increment <= 0) return;
        Http2FrameWriter.WriteWindowUpdate(_output, 0, increment);
        ConnectionReceiveWindow += increment;
    }

    /// <summary>Counts received DATA against the connection window; false when it does not fit (FLOW_CONTROL_ERROR).</summary>
    public bool TryReceiveOnConnection(int length)
    {
        if (length > ConnectionReceiveWindow) return false;
        ConnectionReceiveWindow -= length;
        return true;
    }

    /// <summary>Counts received DATA against a stream's window; false when it does not fit.</summary>
    public static bool TryReceiveOnStream(Http2Stream stream, int length)
    {
        if (length > stream.ReceiveWindow) return false;
        stream.ReceiveWindow -= length;
        return true;
    }

    /// <summary>Gives back connection credit for DATA delivered or dropped.</summary>
    public void CreditConnection(int length)
    {
        _connectionPendingCredit += length;
        if (!IsCreditDue(_connectionPendingCredit, ConnectionReceiveWindow, _connectionWindowTarget)) return;
        Http2FrameWriter.WriteWindowUpdate(_output, 0, _connectionPendingCredit);
        ConnectionReceiveWindow += _connectionPendingCredit;
        _connectionPendingCredit = 0;
    }

    /// <summary>Gives back stream credit for consumed DATA (and padding); nothing once the peer's side of the stream is closed.</summary>
    public void CreditStream(Http2Stream stream, int length)
    {
        stream.PendingCredit += Math.Max(0, length);
        if (!Http2StreamStates.CanReceive(stream.State) || !IsCreditDue(stream.PendingCredit, stream.ReceiveWindow, StreamWindowTarget)) return;
        Http2FrameWriter.WriteWindowUpdate(_output, stream.Id, stream.PendingCredit);
        stream.ReceiveWindow += stream.PendingCredit;
        stream.PendingCredit = 0;
    }

    /// <summary>
    /// Credit goes back once half a window is owed, or once the peer has less than half a window
    /// left. The second also covers a window made small or negative by a lowered
    /// SETTINGS_INITIAL_WINDOW_SIZE, where waiting for more DATA would wait forever.
    /// </summary>
    private static bool IsCreditDue(int pending, long window, int target) => pending > 0 && (pending >= target / 2 || window < target / 2);

    /// <summary>Octets a stream may send now: the smaller of its window and the connection's, never negative.</summary>
    public int SendBudget(Http2Stream stream) => (int)Math.Clamp(Math.Min(stream.SendWindow, ConnectionSendWindow), 0, int.MaxValue);

    /// <summary>Counts DATA sent against both windows.</summary>
    public void Sent(Http2Stream stream, int length)
    {
        stream.SendWindow -= length;
        ConnectionSendWindow -= length;
    }

    /// <summary>A WINDOW_UPDATE on stream 0; false when the window would pass 2^31-1 (FLOW_CONTROL_ERROR).</summary>
    public bool TryGrowConnectionSendWindow(int increment)
    {
        if (ConnectionSendWindow + increment > Http2Settings.MaxWindowSize) return false;
        ConnectionSendWindow += increment;
        return true;
    }

    /// <summary>A WINDOW_UPDATE on a stream, or a change of SETTINGS_INITIAL_WINDOW_SIZE; false when the window would pass 2^31-1.</summary>
    public static bool TryGrowStreamSendWindow(Http2Stream stream, long delta)
    {
        if (stream.SendWindow + delta > Http2Settings.MaxWindowSize) return false;
        stream.SendWindow += delta;
        return true;
    }

    /// <summary>Queues StreamWritable for every blocked stream that has room again.</summary>
    public void WakeBlockedStreams(Http2StreamTable streams, Http2EventQueue events)
    {
        if (ConnectionSendWindow <= 0) return;
        foreach (Http2Stream stream in streams.Streams) WakeIfSendable(stream, events);
    }

    /// <summary>Queues StreamWritable for <paramref name="stream"/> if it was blocked and has room again.</summary>
    public void WakeIfSendable(Http2Stream stream, Http2EventQueue events)
    {
        if (!stream.IsBlocked || SendBudget(stream) <= 0) return;
        stream.BlockedSince = -1;
        events.Enqueue(new Http2PendingEvent(Http2EventKind.StreamWritable, stream.Id, UserState: stream.UserState));
    }
}
