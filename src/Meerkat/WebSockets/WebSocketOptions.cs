namespace Meerkat.WebSockets;

/// <summary>Limits and modes of a WebSocket endpoint. Plain settings with safe defaults.</summary>
public sealed class WebSocketOptions
{
    /// <summary>Default <see cref="MaxMessageSize"/>: 16 MiB.</summary>
    public const long DefaultMaxMessageSize = 16 * 1024 * 1024;

    /// <summary>Default <see cref="ReadChunkSize"/>: 16 KiB.</summary>
    public const int DefaultReadChunkSize = 16 * 1024;

    /// <summary>
    /// Largest message accepted, counted after decompression; a bigger one fails the connection
    /// with 1009 (RFC 6455 §7.4.1). In streaming mode it still applies, to the sum of the pieces.
    /// </summary>
    public long MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Largest data piece delivered at once when the reader has to copy (unmask or inflate).</summary>
    public int ReadChunkSize { get; init; } = DefaultReadChunkSize;

    /// <summary>
    /// True (default): the engine reports whole messages (<see cref="WebSocketEventKind.Message"/>).
    /// False: it reports pieces as they arrive (<see cref="WebSocketEventKind.MessageData"/> then
    /// <see cref="WebSocketEventKind.MessageEnd"/>), for messages too big to hold.
    /// </summary>
    public bool IsWholeMessageMode { get; init; } = true;
}
