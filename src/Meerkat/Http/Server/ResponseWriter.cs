// How this file works: writes one response into an output buffer and keeps its framing honest.
// Framing is chosen in Begin, in one place (RFC 9112 §6.1, §6.3): no body for HEAD, 204 and 304
// (RFC 9110 §9.3.2, §15.3.5, §15.4.5); Content-Length when the length is known; chunked for an
// HTTP/1.1 request otherwise; until close for HTTP/1.0. The body then goes through the shared
// BodyWriter of that framing; for a response without a body the writer is null and body bytes the
// caller writes (the same code for GET and HEAD) are dropped.
//
// States and their legal successors:
//   NotStarted -> Streaming (Begin), Complete (Begin of a body-less response, SwitchProtocols)
//   Streaming  -> Complete (End)
//   Complete   -> NotStarted (Reset, for the next request)
using System.Buffers;

namespace Meerkat.Http;

/// <summary>What a response must know about the request it answers, fixed when the request head
/// arrives (the head's bytes may be gone when a deferred response starts).</summary>
/// <param name="IsHead">The request was HEAD: the response has no body.</param>
/// <param name="IsHttp11">The request was HTTP/1.1 (or a higher 1.x): chunked framing is available.</param>
/// <param name="KeepAlive">The request asked for a persistent connection.</param>
internal readonly record struct ResponseContext(bool IsHead, bool IsHttp11, bool KeepAlive)
{
    /// <summary>For an error answering a request whose head could not be parsed.</summary>
    public static ResponseContext Unparsed(bool isHead) => new(isHead, IsHttp11: true, KeepAlive: false);
}

/// <summary>Writes one HTTP/1.1 response: the head once, then the body in its framing.</summary>
internal sealed class ResponseWriter
{
    private enum Stage { NotStarted, Streaming, Complete }

    private readonly ResponseHeadWriter headWriter = new();
    private readonly ContentLengthBodyWriter contentLengthBody = new();
    private readonly ChunkedBodyWriter chunkedBody = new();
    private readonly UntilCloseBodyWriter untilCloseBody = new();
    private readonly TimeProvider time;
    private Stage stage;
    private HttpFraming framing;
    private BodyWriter? body;
    private bool isHttp11;

    /// <param name="time">The clock of the Date field (RFC 9110 §6.6.1), the only time this writer reads.</param>
    public ResponseWriter(TimeProvider time) => this.time = time;

    public int StatusCode { get; private set; }

    public bool IsStarted => stage != Stage.NotStarted;

    /// <summary>The framing chosen by Begin (chunked responses may end with trailers).</summary>
    public HttpFraming Framing => framing;

    public bool IsComplete => stage == Stage.Complete;

    /// <summary>The connection must close after this response (said in its head).</summary>
    public bool CloseAfter { get; private set; }

    /// <summary>Streams the body from a producer whenever the connection can take more.</summary>
    public HttpBodyProducer? Producer { get; set; }

    /// <summary>Released when the response is reset or the connection closes (an open file).</summary>
    public IDisposable? Resource { get; set; }

    /// <summary>Headers added for this transaction before its response began (router: CORS, extra
    /// headers; see <c>HttpResponseHeaderExtensions.AddResponseHeader</c>), written after the caller's.</summary>
    public List<(string Name, string Value)> AddedHeaders { get; } = [];

    public void Reset()
    {
        AddedHeaders.Clear();
        Resource?.Dispose();
        Resource = null;
        Producer = null;
        stage = Stage.NotStarted;
        framing = HttpFraming.None;
        body = null;
        CloseAfter = false;
        StatusCode = 0;
    }

    /// <summary>Writes the status line and headers; <paramref name="close"/> says whether the
    /// connection will close after this response. <paramref name="monotonic"/>: the caller's last reading
    /// of the system's monotonic clock, if it has one (0), which spares the Date field a clock read.</summary>
    public void Begin(IBufferWriter<byte> output, ResponseContext request, int status, long contentLength, string? contentType,
        ReadOnlySpan<(string Name, string Value)> headers, bool close, string? serverName, long monotonic = 0)
    {
        if (stage != Stage.NotStarted) throw new InvalidOperationException("a response was already started for this request");
        if (status is < 200 or > 999) throw new ArgumentOutOfRangeException(nameof(status), status, "a final response status is 200-999 (1xx are sent by the server itself)");
        foreach (var (name, _) in headers)
            if (IsFramingHeader(name)) throw new ArgumentException($"'{name}' is set by the server from the response framing; do not pass it", nameof(headers));
        bool noContent = status is 204 or 304;
        framing = noContent ? HttpFraming.None
            : contentLength >= 0 ? HttpFraming.ContentLength
            : request.IsHttp11 ? HttpFraming.Chunked : HttpFraming.UntilClose;
        isHttp11 = request.IsHttp11;
        CloseAfter = close || framing == HttpFraming.UntilClose;
        StatusCode = status;
        WriteHead(output, status, contentLength, contentType, headers, request.KeepAlive, serverName, monotonic);
        body = noContent || request.IsHead ? null : StartBody(contentLength);
        stage = body is null || framing == HttpFraming.ContentLength && contentLength == 0 ? Stage.Complete : Stage.Streaming;
    }

    /// <summary>Writes a <c>101 Switching Protocols</c> head with <paramref name="headers"/>; the
    /// response is then complete (it has no body).</summary>
    public void SwitchProtocols(IBufferWriter<byte> output, IReadOnlyList<KeyValuePair<string, string>> headers, string? serverName)
    {
        if (stage != Stage.NotStarted) throw new InvalidOperationException("a response was already started for this request");
        headWriter.WriteStatusLine(output, 101, default, http11: true);
        headWriter.WriteDate(output, time, 0);
        if (serverName is not null) HeadWriting.WriteField(output, "Server", serverName);
        foreach (var (name, value) in headers) HeadWriting.WriteField(output, name, value);
        headWriter.WriteEnd(output);
        StatusCode = 101;
        stage = Stage.Complete;
    }

    /// <summary>Appends body bytes in the response's framing (dropped for a response without a body).</summary>
    public void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (stage != Stage.Streaming)
        {
            if (data.IsEmpty || stage == Stage.Complete && body is null) return;
            throw new InvalidOperationException(stage == Stage.NotStarted ? "start the response before writing its body" : "the response is complete: no more body bytes");
        }
        body?.Write(output, data);
    }

    /// <summary>Ends the body, sending <paramref name="trailers"/> after a chunked one.</summary>
    /// <exception cref="InvalidOperationException">Trailers were given to a response that is not chunked.</exception>
    public void End(IBufferWriter<byte> output, ReadOnlySpan<(string Name, string Value)> trailers = default)
    {
        if (!trailers.IsEmpty && framing != HttpFraming.Chunked)
            throw new InvalidOperationException(isHttp11 || framing != HttpFraming.UntilClose
                ? "response trailers need a chunked response: start it with an unknown length (-1), not a Content-Length"
                : "response trailers need a chunked response, and the client speaks HTTP/1.0, which has no chunked coding");
        if (stage == Stage.Complete) return;
        if (stage == Stage.NotStarted) throw new InvalidOperationException("no response was started");
        body?.Finish(output, trailers);
        stage = Stage.Complete;
    }

    private BodyWriter? StartBody(long contentLength)
    {
        switch (framing)
        {
            case HttpFraming.ContentLength:
                contentLengthBody.Start(contentLength);
                return contentLengthBody;
            case HttpFraming.Chunked:
                chunkedBody.Start();
                return chunkedBody;
            case HttpFraming.UntilClose:
                untilCloseBody.Start();
                return untilCloseBody;
            default:
                return null;
        }
    }

    private void WriteHead(IBufferWriter<byte> output, int status, long contentLength, string? contentType,
        ReadOnlySpan<(string Name, string Value)> headers, bool requestKeepAlive, string? serverName, long monotonic)
    {
        headWriter.WriteStatusLine(output, status, default, isHttp11);
        headWriter.WriteDate(output, time, monotonic);
        if (serverName is not null) HeadWriting.WriteField(output, "Server", serverName);
        if (contentType is not null) HeadWriting.WriteField(output, "Content-Type", contentType);
        // The server's own fields: constant lines, nothing to check.
        if (framing == HttpFraming.ContentLength || status == 304 && contentLength >= 0) HeadWriting.WriteContentLength(output, contentLength);
        else if (framing == HttpFraming.Chunked) HeadWriting.Write(output, HeadWriting.ChunkedLine);
        if (CloseAfter) HeadWriting.Write(output, "Connection: close\r\n"u8);
        else if (!isHttp11 && requestKeepAlive) HeadWriting.Write(output, "Connection: keep-alive\r\n"u8);
        foreach (var (name, value) in headers) HeadWriting.WriteField(output, name, value);
        foreach (var (name, value) in AddedHeaders) HeadWriting.WriteField(output, name, value);
        headWriter.WriteEnd(output);
    }

    private static bool IsFramingHeader(string name) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Connection", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Produces the next piece of a streamed response body into <paramref name="destination"/>.
/// Called on the loop thread whenever the connection can take more.
/// </summary>
/// <returns>Bytes written; 0 ends the body.</returns>
public delegate int HttpBodyProducer(Span<byte> destination);
