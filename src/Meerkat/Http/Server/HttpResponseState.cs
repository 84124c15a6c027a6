using System.Buffers;

namespace Meerkat.Http;

/// <summary>
/// Writes one response into a connection's send buffer and keeps its framing honest: the head
/// once, then the body as Content-Length (never more, never less), chunked (HTTP/1.1 without a
/// length), or until close (HTTP/1.0 without a length). HEAD, 1xx, 204 and 304 responses carry no
/// body bytes whatever the caller writes.
/// </summary>
/// <remarks>States: NotStarted → Streaming → Complete, then <see cref="Reset"/> for the next request.</remarks>
internal sealed class HttpResponseState
{
    private enum Stage { NotStarted, Streaming, Complete }

    private enum Framing { None, ContentLength, Chunked, UntilClose }

    private readonly ResponseHeadWriter headWriter = new();
    private Stage stage;
    private Framing framing;
    private long remaining;
    private bool headOnly;

    public int StatusCode { get; private set; }

    public bool IsStarted => stage != Stage.NotStarted;

    public bool IsComplete => stage == Stage.Complete;

    /// <summary>The connection must close after this response.</summary>
    public bool CloseAfter { get; private set; }

    /// <summary>Streams the body from a producer on <see cref="EventKind.Write"/> events.</summary>
    public HttpBodyProducer? Producer { get; set; }

    /// <summary>Released when the response is reset or the connection closes (an open file).</summary>
    public IDisposable? Resource { get; set; }

    /// <summary>Headers added for this transaction before its response began (router: CORS, extra
    /// headers; see <c>HttpResponseHeaders.AddResponseHeader</c>), written after the caller's.</summary>
    public List<(string Name, string Value)> AddedHeaders { get; } = [];

    public void Reset()
    {
        Resource?.Dispose();
        Resource = null;
        stage = Stage.NotStarted;
        framing = Framing.None;
        remaining = 0;
        headOnly = false;
        CloseAfter = false;
        StatusCode = 0;
        Producer = null;
        AddedHeaders.Clear();
    }

    /// <summary>Writes the status line and headers; <c>close</c> says whether the connection will
    /// close after this response.</summary>
    public void Begin(IBufferWriter<byte> output, HttpRequest request, int status, long contentLength, string? contentType,
        ReadOnlySpan<(string Name, string Value)> headers, bool close, string? serverName, bool headParsed = true)
    {
        if (stage != Stage.NotStarted) throw new InvalidOperationException("a response was already started for this request");
        if (status is < 200 or > 999) throw new ArgumentOutOfRangeException(nameof(status), status, "a final response status is 200-999 (1xx are sent by the server itself)");
        foreach (var (name, _) in headers)
            if (IsFramingHeader(name)) throw new ArgumentException($"'{name}' is set by the server from the response framing; do not pass it", nameof(headers));
        // An error answering an unparsable head speaks HTTP/1.1, the version we implement.
        bool http11 = !headParsed || request.VersionMinor == 1;
        bool noBody = status is 204 or 304;
        headOnly = noBody || headParsed && request.IsMethod("HEAD"u8);
        framing = noBody ? Framing.None
            : contentLength >= 0 ? Framing.ContentLength
            : http11 ? Framing.Chunked : Framing.UntilClose;
        CloseAfter = close || framing == Framing.UntilClose;
        remaining = contentLength;
        StatusCode = status;
        WriteHead(output, status, contentLength, contentType, headers, http11, headParsed && request.KeepAlive, serverName);
        stage = Stage.Streaming;
        if (headOnly || framing == Framing.ContentLength && remaining == 0) stage = Stage.Complete;
    }

    /// <summary>Writes a <c>101 Switching Protocols</c> head with <paramref name="headers"/>; the
    /// response is then complete (it has no body) and the connection belongs to the new protocol
    /// once the transaction ends.</summary>
    public void SwitchProtocols(IBufferWriter<byte> output, IReadOnlyList<KeyValuePair<string, string>> headers, string? serverName)
    {
        if (stage != Stage.NotStarted) throw new InvalidOperationException("a response was already started for this request");
        headWriter.WriteStatusLine(output, 101, default, http11: true);
        headWriter.WriteDate(output, DateTimeOffset.UtcNow);
        if (serverName is not null) HeadWriting.WriteField(output, "Server", serverName);
        foreach (var (name, value) in headers) HeadWriting.WriteField(output, name, value);
        headWriter.WriteEnd(output);
        StatusCode = 101;
        framing = Framing.None;
        headOnly = true;
        stage = Stage.Complete;
    }

    /// <summary>Appends body bytes in the response's framing.</summary>
    public void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (headOnly) return;
        if (stage != Stage.Streaming)
        {
            if (data.IsEmpty) return;
            throw new InvalidOperationException(stage == Stage.NotStarted ? "start the response before writing its body" : "the response is complete: no more body bytes");
        }
        if (framing == Framing.ContentLength)
        {
            if (data.Length > remaining) throw new InvalidOperationException($"the body exceeds its Content-Length by {data.Length - remaining} bytes");
            remaining -= data.Length;
        }
        if (data.IsEmpty || headOnly) return;
        if (framing == Framing.Chunked) ChunkedEncoder.WriteChunk(output, data);
        else HeadWriting.Write(output, data);
    }

    /// <summary>Ends the body (the last chunk for chunked framing).</summary>
    public void End(IBufferWriter<byte> output)
    {
        if (stage == Stage.Complete) return;
        if (stage == Stage.NotStarted) throw new InvalidOperationException("no response was started");
        if (framing == Framing.ContentLength && remaining != 0)
            throw new InvalidOperationException($"the body is {remaining} bytes short of its Content-Length");
        if (framing == Framing.Chunked && !headOnly) ChunkedEncoder.WriteLastChunk(output);
        stage = Stage.Complete;
    }

    private void WriteHead(IBufferWriter<byte> output, int status, long contentLength, string? contentType,
        ReadOnlySpan<(string Name, string Value)> headers, bool http11, bool requestKeepAlive, string? serverName)
    {
        headWriter.WriteStatusLine(output, status, default, http11);
        headWriter.WriteDate(output, DateTimeOffset.UtcNow);
        if (serverName is not null) HeadWriting.WriteField(output, "Server", serverName);
        if (contentType is not null) HeadWriting.WriteField(output, "Content-Type", contentType);
        if (framing == Framing.ContentLength || status == 304 && contentLength >= 0) headWriter.WriteHeader(output, "Content-Length"u8, contentLength);
        else if (framing == Framing.Chunked) headWriter.WriteHeader(output, "Transfer-Encoding"u8, "chunked"u8);
        if (CloseAfter) headWriter.WriteHeader(output, "Connection"u8, "close"u8);
        else if (!http11 && requestKeepAlive) headWriter.WriteHeader(output, "Connection"u8, "keep-alive"u8);
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
