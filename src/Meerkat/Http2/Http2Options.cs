namespace Meerkat.Http2;

/// <summary>A token bucket's shape: <paramref name="Burst"/> events at once, refilled at
/// <paramref name="PerSecond"/> a second.</summary>
internal readonly record struct Http2RateLimit(int Burst, double PerSecond);

/// <summary>
/// What an HTTP/2 endpoint advertises in its SETTINGS, and the limits it holds its peer to.
/// Every value has a safe default; read once when a connection is created.
/// </summary>
internal sealed class Http2Options
{
    /// <summary>SETTINGS_HEADER_TABLE_SIZE: the HPACK table the peer's encoder may use. Default 4,096 (the protocol default).</summary>
    public int HeaderTableSize { get; init; } = 4096;

    /// <summary>The largest HPACK table our encoder uses, whatever the peer allows. Default 4,096.</summary>
    public int EncoderTableSize { get; init; } = 4096;

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS: streams the peer may have open at once (server side). Default 100.
    /// Beyond it a new stream is refused with REFUSED_STREAM, which the peer may retry.</summary>
    public int MaxConcurrentStreams { get; init; } = 100;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window. Default 256 KiB.</summary>
    public int InitialWindowSize { get; init; } = 256 * 1024;

    /// <summary>The connection's receive window, raised from 65,535 by a WINDOW_UPDATE at start. Default 1 MiB.</summary>
    public int ConnectionWindowSize { get; init; } = 1024 * 1024;

    /// <summary>SETTINGS_MAX_FRAME_SIZE: the largest frame payload we accept (2^14 to 2^24-1). Default 16,384.</summary>
    public int MaxFrameSize { get; init; } = 16 * 1024;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE: the largest decoded field section (names + values + 32 per field). Default 32 KiB,
    /// as HTTP/1.1's head limit. A larger request is answered 431; a larger response is reset.</summary>
    public int MaxHeaderListSize { get; init; } = 32 * 1024;

    /// <summary>The largest encoded field block (HEADERS plus CONTINUATION) we buffer. Default 64 KiB;
    /// more is a CONTINUATION flood: GOAWAY with ENHANCE_YOUR_CALM.</summary>
    public int MaxFieldBlockSize { get; init; } = 64 * 1024;

    /// <summary>The most CONTINUATION frames one field block may take. Default 32; more is ENHANCE_YOUR_CALM.</summary>
    public int MaxContinuationFrames { get; init; } = 32;

    /// <summary>Whether stream receive windows are replenished as soon as a DATA event is delivered (default).
    /// False leaves that to <see cref="Http2Connection.ReturnCredit"/>, so a slow consumer holds its peer back.</summary>
    public bool CreditsStreamsOnDelivery { get; init; } = true;

    /// <summary>How long our SETTINGS may wait for an acknowledgement before SETTINGS_TIMEOUT (§6.5.3). Default 10 s.</summary>
    public TimeSpan SettingsTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stream may wait for send window with output pending before it is reset (CANCEL):
    /// the zero-window stall defence. Default 30 s.</summary>
    public TimeSpan SendStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>In a graceful shutdown, how long to wait for the PING that follows the first GOAWAY before the final one. Default 5 s.</summary>
    public TimeSpan ShutdownPingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Streams the peer may reset (RST_STREAM) or make us reset: the rapid reset defence (CVE-2023-44487).
    /// Default a burst of 200, then 100 a second.</summary>
    public Http2RateLimit StreamResets { get; init; } = new(200, 100);

    /// <summary>PING frames (each one makes us answer). Default a burst of 50, then 10 a second.</summary>
    public Http2RateLimit Pings { get; init; } = new(50, 10);

    /// <summary>SETTINGS frames (each one makes us answer). Default a burst of 20, then 5 a second.</summary>
    public Http2RateLimit Settings { get; init; } = new(20, 5);

    /// <summary>Frames that cost work and move nothing forward: PRIORITY, empty DATA without END_STREAM, empty
    /// field block fragments. Default a burst of 1,000, then 500 a second.</summary>
    public Http2RateLimit UnproductiveFrames { get; init; } = new(1000, 500);

    /// <summary>Throws when a value is outside what the protocol allows.</summary>
    internal void Validate()
    {
        if (MaxFrameSize is < 16_384 or > 16_777_215) throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), "SETTINGS_MAX_FRAME_SIZE must be between 16,384 and 16,777,215");
        if (InitialWindowSize < 0) throw new ArgumentOutOfRangeException(nameof(InitialWindowSize), "a window is at most 2^31-1 and not negative");
        if (ConnectionWindowSize < Http2Settings.DefaultWindowSize) throw new ArgumentOutOfRangeException(nameof(ConnectionWindowSize), "the connection window starts at 65,535 and can only grow");
        if (HeaderTableSize < 0 || EncoderTableSize < 0 || MaxConcurrentStreams < 0 || MaxHeaderListSize < 0) throw new ArgumentOutOfRangeException(nameof(HeaderTableSize), "sizes and counts cannot be negative");
        if (MaxFieldBlockSize < 1 || MaxContinuationFrames < 0) throw new ArgumentOutOfRangeException(nameof(MaxFieldBlockSize), "field block limits must be positive");
    }
}
