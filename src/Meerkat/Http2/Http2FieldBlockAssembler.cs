// How this file works: a field block that does not fit one HEADERS (or PUSH_PROMISE) frame
// continues in CONTINUATION frames on the same stream, with nothing else in between (RFC 9113
// §4.3, §6.10). This collects the fragments until END_HEADERS, so the block is decoded once,
// whole. The defence against CONTINUATION floods lives here: a block may hold at most
// MaxFieldBlockSize octets in at most MaxContinuationFrames frames (empty ones count too).
// A block that fits one frame (the usual case) never comes here: it is decoded in place.
namespace Meerkat.Http2;

/// <summary>What adding a fragment did.</summary>
internal enum Http2FieldBlockStatus
{
    /// <summary>Stored.</summary>
    Stored,

    /// <summary>The block grew past the size limit.</summary>
    TooLarge,

    /// <summary>The block took more CONTINUATION frames than allowed.</summary>
    TooManyFrames,
}

/// <summary>Collects the fragments of one field block.</summary>
internal sealed class Http2FieldBlockAssembler
{
    private readonly int _maxSize;
    private readonly int _maxContinuations;
    private byte[] _buffer = new byte[1024];
    private int _length;
    private int _continuations;

    /// <summary>Creates an assembler with the flood limits.</summary>
    public Http2FieldBlockAssembler(int maxSize, int maxContinuations)
    {
        _maxSize = maxSize;
        _maxContinuations = maxContinuations;
    }

    /// <summary>The stream whose block is being collected; 0 when none is.</summary>
    public int StreamId { get; private set; }

    /// <summary>True while a block waits for CONTINUATION frames.</summary>
    public bool IsInProgress => StreamId != 0;

    /// <summary>The frame type that began the block (HEADERS or PUSH_PROMISE).</summary>
    public Http2FrameType Type { get; private set; }

    /// <summary>The END_STREAM flag of the HEADERS frame that began the block.</summary>
    public bool IsEndStream { get; private set; }

    /// <summary>True when the HEADERS frame's priority fields made the stream depend on itself.</summary>
    public bool IsSelfDependent { get; private set; }

    /// <summary>The stream a PUSH_PROMISE promised.</summary>
    public int PromisedStreamId { get; private set; }

    /// <summary>The fragments so far, in order.</summary>
    public ReadOnlySpan<byte> Block => _buffer.AsSpan(0, _length);

    /// <summary>Starts a block with the fragment of its first frame.</summary>
    public Http2FieldBlockStatus Begin(Http2FrameType type, int streamId, bool isEndStream, bool isSelfDependent, int promisedStreamId, ReadOnlySpan<byte> fragment)
    {
        Type = type;
        StreamId = streamId;
        IsEndStream = isEndStream;
        IsSelfDependent = isSelfDependent;
        PromisedStreamId = promisedStreamId;
        _length = 0;
        _continuations = 0;
        return Store(fragment);
    }

    /// <summary>Adds the fragment of a CONTINUATION frame.</summary>
    public Http2FieldBlockStatus Continue(ReadOnlySpan<byte> fragment) =>
        ++_continuations > _maxContinuations ? Http2FieldBlockStatus.TooManyFrames : Store(fragment);

    /// <summary>Forgets the block (after it was decoded, or the connection failed).</summary>
    public void Clear()
    {
        StreamId = 0;
        _length = 0;
    }

    private Http2FieldBlockStatus Store(ReadOnlySpan<byte> fragment)
    {
        if (fragment.Length > _maxSize - _length) return Http2FieldBlockStatus.TooLarge;
        if (_length + fragment.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_length + fragment.Length, 2 * _buffer.Length));
        fragment.CopyTo(_buffer.AsSpan(_length));
        _length += fragment.Length;
        return Http2FieldBlockStatus.Stored;
    }
}
