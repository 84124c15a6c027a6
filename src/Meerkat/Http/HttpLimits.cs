namespace Meerkat.Http;

/// <summary>
/// Size limits the HTTP/1.1 reader enforces on what a peer sends. Each exceeded limit
/// becomes an <see cref="HttpError"/> with its status code (414, 431 or 413).
/// A plain options object: set the properties before handing it to a reader; the reader
/// reads them on every message, so changing them between messages takes effect.
/// </summary>
public sealed class HttpLimits
{
    /// <summary>Maximum request line (or status line) length in bytes, without its CRLF.
    /// Default 8 KiB. Exceeding it on a request gives <see cref="HttpError.RequestLineTooLong"/> (414).</summary>
    public int MaxRequestLineLength { get; set; } = 8 * 1024;

    /// <summary>Maximum size of the whole head (start line, header lines, blank line).
    /// Default 32 KiB. Exceeding it gives <see cref="HttpError.HeadersTooLarge"/> (431).</summary>
    public int MaxHeaderBytes { get; set; } = 32 * 1024;

    /// <summary>Maximum number of header fields in a head, and of trailer fields.
    /// Default 100. Exceeding it gives <see cref="HttpError.TooManyHeaders"/> (431).</summary>
    public int MaxHeaderCount { get; set; } = 100;

    /// <summary>Maximum body size in bytes, after de-chunking. Default <see cref="long.MaxValue"/>
    /// (no limit: a server that buffers bodies sets its own). A larger Content-Length, or a chunked
    /// or until-close body that grows past it, gives <see cref="HttpError.BodyTooLarge"/> (413).</summary>
    public long MaxBodySize { get; set; } = long.MaxValue;

    /// <summary>Maximum length of the extensions of one chunk-size line (RFC 9112 §7.1.1).
    /// Default 4 KiB. Exceeding it gives <see cref="HttpError.ChunkExtensionTooLong"/> (400).</summary>
    public int MaxChunkExtensionLength { get; set; } = 4 * 1024;

    /// <summary>Maximum size of the trailer section of a chunked body (RFC 9112 §7.1.2).
    /// Default 16 KiB. Exceeding it gives <see cref="HttpError.TrailersTooLarge"/> (431).</summary>
    public int MaxTrailerBytes { get; set; } = 16 * 1024;

    /// <summary>The defaults, for readers given no limits. Never handed to users, so never modified.</summary>
    internal static HttpLimits Defaults { get; } = new() { isSnapshot = true };

    private bool isSnapshot;

    /// <summary>A validated copy, taken when a reader, listener or client starts using the limits:
    /// changing the original later changes nothing already running.</summary>
    /// <exception cref="ArgumentException">A limit is zero or negative.</exception>
    internal HttpLimits Snapshot()
    {
        if (isSnapshot) return this; // a copy already, which only the library holds
        Require(MaxRequestLineLength > 0, nameof(MaxRequestLineLength));
        Require(MaxHeaderBytes > 0, nameof(MaxHeaderBytes));
        Require(MaxHeaderCount > 0, nameof(MaxHeaderCount));
        Require(MaxBodySize >= 0, nameof(MaxBodySize));
        Require(MaxChunkExtensionLength >= 0, nameof(MaxChunkExtensionLength));
        Require(MaxTrailerBytes >= 0, nameof(MaxTrailerBytes));
        var copy = (HttpLimits)MemberwiseClone();
        copy.isSnapshot = true;
        return copy;
    }

    private static void Require(bool condition, string name)
    {
        if (!condition) throw new ArgumentException($"HttpLimits.{name} must be positive");
    }
}
