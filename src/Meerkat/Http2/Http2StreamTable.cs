// How this file works: the streams of one connection and the identifier rules of RFC 9113
// §5.1.1. Clients open odd streams, servers even ones (push only, which Meerkat never does);
// each side's identifiers only grow, and opening stream N implicitly closes every idle stream of
// that side below N. So a stream that is not in the table is idle when its identifier is above
// the highest its initiator has used, and closed otherwise. What is remembered of closed streams
// is a ring of the last RecentCapacity that were really used, and whether we reset them: late
// frames on a stream we reset are ignored, on one that ended normally they are STREAM_CLOSED,
// and a lower identifier that was never used is an unexpected identifier (§5.1, §5.1.1).
// Stream objects are pooled: a warm connection allocates none.
namespace Meerkat.Http2;

/// <summary>What an identifier that is not in the table stands for.</summary>
internal enum Http2StreamStatus
{
    /// <summary>In the table: open or half-closed.</summary>
    Active,

    /// <summary>Never used: above the highest identifier its initiator opened.</summary>
    Idle,

    /// <summary>Used and finished.</summary>
    Closed,
}

/// <summary>What is remembered of a closed stream.</summary>
internal enum Http2ClosedStream
{
    /// <summary>Not among the recently closed: never used, or closed long ago.</summary>
    Unknown,

    /// <summary>Ended normally or reset by the peer: late DATA or HEADERS are STREAM_CLOSED.</summary>
    Closed,

    /// <summary>Reset (or refused, or ignored) by us: frames the peer sent before it knew are ignored.</summary>
    ResetByUs,
}

/// <summary>The streams of one connection.</summary>
internal sealed class Http2StreamTable
{
    /// <summary>How many closed streams are remembered (see <see cref="Recall"/>).</summary>
    public const int RecentCapacity = 256;

    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly Stack<Http2Stream> _pool = new();
    private readonly (int Id, bool IsResetByUs)[] _recentlyClosed = new (int, bool)[RecentCapacity];
    private int _nextRecent;
    private readonly bool _isServer;

    /// <summary>Creates the table for a server's or a client's end of a connection.</summary>
    public Http2StreamTable(bool isServer) => _isServer = isServer;

    /// <summary>The highest identifier the peer has opened (the "last stream identifier" of our GOAWAY).</summary>
    public int HighestPeerStreamId { get; private set; }

    /// <summary>The highest identifier we opened, 0 before the first.</summary>
    public int HighestLocalStreamId { get; private set; }

    /// <summary>Active streams the peer opened (counted against our SETTINGS_MAX_CONCURRENT_STREAMS).</summary>
    public int PeerInitiatedCount { get; private set; }

    /// <summary>Active streams we opened (counted against the peer's SETTINGS_MAX_CONCURRENT_STREAMS).</summary>
    public int LocallyInitiatedCount { get; private set; }

    /// <summary>All active streams.</summary>
    public int Count => _streams.Count;

    /// <summary>The active streams; do not add or remove while enumerating.</summary>
    public Dictionary<int, Http2Stream>.ValueCollection Streams => _streams.Values;

    /// <summary>The next identifier we would open (2^31 and above: exhausted).</summary>
    public long NextLocalStreamId => HighestLocalStreamId == 0 ? (_isServer ? 2 : 1) : HighestLocalStreamId + 2L;

    /// <summary>True when <paramref name="streamId"/> (non-zero) belongs to the peer's side: odd for a client's streams.</summary>
    public bool IsPeerInitiated(int streamId) => (streamId & 1) == (_isServer ? 1 : 0);

    /// <summary>Finds an active stream.</summary>
    public bool TryGet(int streamId, out Http2Stream stream) => _streams.TryGetValue(streamId, out stream!);

    /// <summary>Whether <paramref name="streamId"/> is active, idle or closed.</summary>
    public Http2StreamStatus StatusOf(int streamId)
    {
        if (_streams.ContainsKey(streamId)) return Http2StreamStatus.Active;
        int highest = IsPeerInitiated(streamId) ? HighestPeerStreamId : HighestLocalStreamId;
        return streamId > highest ? Http2StreamStatus.Idle : Http2StreamStatus.Closed;
    }

    /// <summary>Records that the peer used <paramref name="streamId"/> (higher than any before), whether or not we accept it.</summary>
    public void NotePeerStream(int streamId) => HighestPeerStreamId = Math.Max(HighestPeerStreamId, streamId);

    /// <summary>Adds a stream the peer opened (already noted with <see cref="NotePeerStream"/>).</summary>
    public Http2Stream AddPeerStream(int streamId, long sendWindow, long receiveWindow)
    {
        NotePeerStream(streamId);
        PeerInitiatedCount++;
        return Add(streamId, sendWindow, receiveWindow);
    }

    /// <summary>Adds a stream we open, with the next identifier.</summary>
    public Http2Stream AddLocalStream(long sendWindow, long receiveWindow)
    {
        long id = NextLocalStreamId;
        if (id > Http2FrameHeader.MaxStreamId) throw new InvalidOperationException("stream identifiers are exhausted on this connection; open a new one");
        HighestLocalStreamId = (int)id;
        LocallyInitiatedCount++;
        return Add((int)id, sendWindow, receiveWindow);
    }

    /// <summary>Takes a stream out of the table and back to the pool. The caller copied what it still needs.</summary>
    public void Remove(Http2Stream stream)
    {
        if (!_streams.Remove(stream.Id)) return;
        if (IsPeerInitiated(stream.Id)) PeerInitiatedCount--;
        else LocallyInitiatedCount--;
        stream.UserState = null;
        _pool.Push(stream);
    }

    /// <summary>Remembers a closed stream, and whether we reset it (then the peer's frames already in flight are ignored).</summary>
    public void RememberClosed(int streamId, bool isResetByUs)
    {
        _recentlyClosed[_nextRecent] = (streamId, isResetByUs);
        _nextRecent = (_nextRecent + 1) % RecentCapacity;
    }

    /// <summary>What is remembered of closed stream <paramref name="streamId"/>.</summary>
    public Http2ClosedStream Recall(int streamId)
    {
        for (int i = 0; i < RecentCapacity; i++)
        {
            (int id, bool isResetByUs) = _recentlyClosed[(_nextRecent + RecentCapacity - 1 - i) % RecentCapacity];
            if (id == streamId && id != 0) return isResetByUs ? Http2ClosedStream.ResetByUs : Http2ClosedStream.Closed;
        }

        return Http2ClosedStream.Unknown;
    }

    private Http2Stream Add(int streamId, long sendWindow, long receiveWindow)
    {
        Http2Stream stream = _pool.Count > 0 ? _pool.Pop() : new Http2Stream();
        stream.Reset(streamId, sendWindow, receiveWindow);
        _streams.Add(streamId, stream);
        return stream;
    }
}
