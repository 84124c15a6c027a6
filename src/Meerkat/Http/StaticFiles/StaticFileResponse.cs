// How this file works
// -------------------
// The plan the connection glue executes: a status, the headers to send, and at most one
// body source, either a slice of a source's entry to stream or a small in-memory body. The glue adds
// the framing-independent headers it owns (Date, Server, Connection). Content-Length is
// always present except on 304; for HEAD it is what GET would send, and there is no body.
namespace Meerkat.Http.StaticFiles;

/// <summary>A planned response to a static file request. Immutable.</summary>
internal sealed class StaticFileResponse
{
    internal StaticFileResponse(
        int statusCode, IReadOnlyList<KeyValuePair<string, string>> headers,
        FileEntry? entry = null, long fileOffset = 0, long fileLength = 0, ReadOnlyMemory<byte> body = default)
    {
        StatusCode = statusCode;
        Headers = headers;
        Entry = entry;
        FileOffset = fileOffset;
        FileLength = fileLength;
        Body = body;
    }

    /// <summary>The status code: 200, 206, 301, 304, 400, 404, 405, 412 or 416.</summary>
    public int StatusCode { get; }

    /// <summary>The standard reason phrase of <see cref="StatusCode"/>.</summary>
    public string ReasonPhrase => HttpStatusText.Of(StatusCode);

    /// <summary>Headers to send, in order, including Content-Length (except on 304).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The entry to stream from, or null when the body is <see cref="Body"/> or empty.</summary>
    public FileEntry? Entry { get; }

    /// <summary>The real path of <see cref="Entry"/> when it is a file of a directory source; else null.</summary>
    public string? FilePath => (Entry as DiskEntry)?.RealPath;

    /// <summary>Where in <see cref="Entry"/> the body starts.</summary>
    public long FileOffset { get; }

    /// <summary>How many bytes of <see cref="Entry"/> to send, starting at <see cref="FileOffset"/>.</summary>
    public long FileLength { get; }

    /// <summary>A small in-memory body (listing, error text) when <see cref="Entry"/> is null; empty for HEAD, 304 and file bodies.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The first header value named <paramref name="name"/> (case-insensitive), or null.</summary>
    /// <param name="name">A header name such as <c>ETag</c>.</param>
    /// <returns>The value, or null when the response does not carry that header.</returns>
    public string? GetHeader(string name)
    {
        foreach (KeyValuePair<string, string> header in Headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return header.Value;
            }
        }
        return null;
    }
}

/// <summary>Reason phrases of the statuses the static file planner produces (RFC 9110 §15).</summary>
internal static class HttpStatusText
{
    public static string Of(int statusCode) => statusCode switch
    {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        416 => "Range Not Satisfiable",
        _ => "",
    };
}
