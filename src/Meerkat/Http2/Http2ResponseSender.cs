// How this file works: the response of one HTTP/2 stream as the server API writes it (Begin, Write,
// End, or a producer), turned into HEADERS, DATA and trailers under flow control. The rules are
// HTTP/1.1's (ResponseWriter): the status is a final one, framing fields are the server's, HEAD, 204
// and 304 carry no body, a Content-Length is honoured to the byte. What HTTP/2 changes: the fields
// are lowercased into a header list (Http2HeaderList), fields of the HTTP/1.1 connection that a
// handler written for it may pass (Keep-Alive, Upgrade, Proxy-Connection) are left out, the body is
// DATA frames, and bytes the stream's send window cannot take yet wait in a buffer of their own
// until the peer's WINDOW_UPDATE (Flush). The writer returns "writable" only while nothing waits, so
// a handler that streams with WriteBody paces itself on the window, as on HTTP/1.1 it paces itself on
// the send buffer. END_STREAM goes with the last DATA frame (or the trailers), so a one-call reply is
// one HEADERS and one DATA frame.
//
// Stages and their legal successors:
//   NotStarted -> Streaming (Begin of a response with content), Complete (Begin of one without: END_STREAM on HEADERS)
//   Streaming  -> Ending (End while bytes wait for window), Complete (End or the last Write with nothing waiting)
//   Ending     -> Complete (what waited went out, then END_STREAM or the trailers)
//   Complete   -> NotStarted (Reset, for the stream object's next request)
using Meerkat.Http;

namespace Meerkat.Http2;

/// <summary>What every response of a connection shares: the header list being encoded, the Date cache, the server's name.</summary>
internal sealed class Http2ResponseFields(HttpServerOptions options)
{
    private readonly HttpDateCache _date = new();

    /// <summary>The section being sent; encoded at once, so one list serves every stream.</summary>
    public Http2HeaderList List { get; } = new();

    public string? ServerName => options.ServerName;

    /// <summary>The Date field's value (RFC 9110 §6.6.1), from the options' clock.</summary>
    public ReadOnlySpan<byte> Date => _date.GetValue(options.TimeProvider.GetUtcNow());
}

/// <summary>Sends one stream's response. Loop thread only.</summary>
internal sealed class Http2ResponseSender
{
    private enum Stage { NotStarted, Streaming, Ending, Complete }

    private readonly IoBuffer _waiting;
    private Stage _stage;
    private bool _hasContent;
    private long _remaining;
    private (string Name, string Value)[]? _trailers;

    /// <param name="maxWaiting">The most bytes that may wait for window (the connection's send buffer limit).</param>
    public Http2ResponseSender(int maxWaiting) => _waiting = new IoBuffer(16 * 1024, maxWaiting);

    public int StatusCode { get; private set; }

    public bool IsStarted => _stage != Stage.NotStarted;

    public bool IsComplete => _stage == Stage.Complete;

    /// <summary>Bytes wait for the peer's window.</summary>
    public bool HasWaiting => !_waiting.IsEmpty;

    /// <summary>More may be written now: the response is streaming and nothing waits for window.</summary>
    public bool CanTakeMore => _stage == Stage.Streaming && _waiting.IsEmpty;

    /// <summary>Streams the body from a producer whenever the stream and the connection can take more.</summary>
    public HttpBodyProducer? Producer { get; set; }

    /// <summary>Released when the response is reset (an open file).</summary>
    public IDisposable? Resource { get; set; }

    /// <summary>Headers added before the response began (router: CORS, settings), written after the caller's.</summary>
    public List<(string Name, string Value)> AddedHeaders { get; } = [];

    /// <summary>Sends the header section; END_STREAM with it when the response has no content.</summary>
    public void Begin(Http2Connection core, int streamId, Http2ResponseFields shared, int status, long contentLength, string? contentType,
        ReadOnlySpan<(string Name, string Value)> headers, bool isHeadRequest)
    {
        if (_stage != Stage.NotStarted) throw new InvalidOperationException("a response was already started for this request");
        if (status is < 200 or > 599) throw new ArgumentOutOfRangeException(nameof(status), status, "a final HTTP/2 response status is 200-599 (1xx are sent by the server itself)");
        foreach (var (name, _) in headers)
            if (IsFramingHeader(name)) throw new ArgumentException($"'{name}' is set by the server from the response framing; do not pass it", nameof(headers));
        bool noContent = status is 204 or 304;
        Http2HeaderList list = shared.List;
        list.Clear();
        list.AddStatus(status);
        list.Add("date"u8, shared.Date);
        if (shared.ServerName is { } server) list.Add("server", server);
        if (contentType is not null) list.Add("content-type", contentType);
        if (contentLength >= 0 && (!noContent || status == 304)) AddContentLength(list, contentLength);
        foreach (var (name, value) in headers)
            if (!IsHttp11ConnectionField(name)) list.Add(name, value);
        foreach (var (name, value) in AddedHeaders)
            if (!IsHttp11ConnectionField(name)) list.Add(name, value);
        _hasContent = !noContent && !isHeadRequest && contentLength != 0;
        _remaining = _hasContent ? contentLength : 0;
        StatusCode = status;
        _stage = _hasContent ? Stage.Streaming : Stage.Complete;
        core.SendHeaders(streamId, list, endStream: !_hasContent);
    }

    /// <summary>Appends body bytes; with <paramref name="isLast"/> the response ends with them (one frame
    /// carries END_STREAM). Bytes of a response without content are dropped, as on HTTP/1.1.</summary>
    public void Write(Http2Connection core, int streamId, ReadOnlySpan<byte> data, bool isLast, long now)
    {
        if (_stage != Stage.Streaming)
        {
            if (data.IsEmpty && !isLast || _stage == Stage.Complete && !_hasContent) return;
            throw new InvalidOperationException(_stage == Stage.NotStarted ? "start the response before writing its body" : "the response is complete: no more body bytes");
        }

        if (_remaining >= 0)
        {
            if (data.Length > _remaining) throw new InvalidOperationException($"the body exceeds its Content-Length by {data.Length - _remaining} bytes");
            if (isLast && data.Length != _remaining) throw new InvalidOperationException($"the body is {_remaining - data.Length} bytes short of its Content-Length");
            _remaining -= data.Length;
            isLast |= _remaining == 0; // the whole announced length: END_STREAM goes with it (a later End is a no-op)
        }

        if (_waiting.IsEmpty)
        {
            if (!core.TrySendData(streamId, data, isLast, now, out int written))
            {
                _stage = Stage.Complete; // the stream is gone (reset): its StreamClosed ends the transaction
                return;
            }

            data = data[written..];
            if (data.IsEmpty)
            {
                if (isLast) _stage = Stage.Complete;
                return;
            }
        }

        if (!_waiting.Append(data))
            throw new InvalidOperationException($"the response body is {_waiting.Length + data.Length} bytes ahead of the peer's flow-control window: write while Connection.IsWritable and continue on Write events");
        if (isLast) _stage = Stage.Ending;
    }

    /// <summary>Ends the body: END_STREAM, or the trailers, once whatever waits for window is sent.</summary>
    public void End(Http2Connection core, int streamId, Http2ResponseFields shared, ReadOnlySpan<(string Name, string Value)> trailers, long now)
    {
        foreach (var (name, _) in trailers)
            if (ChunkedBodyWriter.IsForbiddenTrailer(name) || IsHttp11ConnectionField(name))
                throw new ArgumentException($"'{name}' cannot be a trailer field: it frames or routes the message (RFC 9110 §6.5.1)", nameof(trailers));
        if (!trailers.IsEmpty && _hasContent && _remaining >= 0)
            throw new InvalidOperationException("response trailers need a response started with an unknown length (-1), not a Content-Length");
        if (_stage is Stage.Complete or Stage.Ending) return;
        if (_stage == Stage.NotStarted) throw new InvalidOperationException("no response was started");
        if (_remaining > 0) throw new InvalidOperationException($"the body is {_remaining} bytes short of its Content-Length");
        _trailers = trailers.IsEmpty ? null : trailers.ToArray();
        _stage = Stage.Ending;
        Flush(core, streamId, shared, now);
    }

    /// <summary>Sends what waited for window (the peer opened it) and, once all of it is out, ends the stream if asked.</summary>
    public void Flush(Http2Connection core, int streamId, Http2ResponseFields shared, long now)
    {
        if (!_waiting.IsEmpty)
        {
            bool isLast = _stage == Stage.Ending && _trailers is null;
            if (!core.TrySendData(streamId, _waiting.Span, isLast, now, out int written))
            {
                _waiting.Consume(_waiting.Length);
                _stage = Stage.Complete;
                return;
            }

            _waiting.Consume(written);
            if (!_waiting.IsEmpty) return;
            if (isLast)
            {
                _stage = Stage.Complete;
                return;
            }
        }

        if (_stage != Stage.Ending) return;
        _stage = Stage.Complete;
        if (_trailers is null)
        {
            core.TrySendData(streamId, default, endStream: true, now, out _);
            return;
        }

        Http2HeaderList list = shared.List;
        list.Clear();
        foreach (var (name, value) in _trailers) list.Add(name, value);
        _trailers = null;
        core.SendHeaders(streamId, list, endStream: true);
    }

    /// <summary>Calls the producer while the stream's window and the connection's send buffer have room;
    /// a producer returning 0 ends the response. Returns false when the producer threw (<paramref name="error"/>).</summary>
    public bool Pump(Http2Connection core, int streamId, Http2ResponseFields shared, Span<byte> scratch, Func<bool> hasRoom, long now, out Exception? error)
    {
        error = null;
        while (Producer is { } producer && _stage == Stage.Streaming && _waiting.IsEmpty && hasRoom())
        {
            int budget = core.GetSendWindow(streamId);
            // With no window, one piece is still produced: it waits, and the core wakes the stream when the window opens.
            int n;
            try
            {
                n = producer(budget > 0 && budget < scratch.Length ? scratch[..budget] : scratch);
            }
            catch (Exception ex) when (ex is not LifecycleViolationException)
            {
                Producer = null;
                error = ex;
                return false;
            }

            if (n <= 0)
            {
                Producer = null;
                End(core, streamId, shared, default, now);
                return true;
            }

            Write(core, streamId, scratch[..n], isLast: false, now);
        }

        return true;
    }

    /// <summary>Frees what the response held; the stream object may serve another request.</summary>
    public void Reset()
    {
        AddedHeaders.Clear();
        Resource?.Dispose();
        Resource = null;
        Producer = null;
        _trailers = null;
        _waiting.Release();
        _stage = Stage.NotStarted;
        _hasContent = false;
        _remaining = 0;
        StatusCode = 0;
    }

    private static void AddContentLength(Http2HeaderList list, long length)
    {
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(length, digits, out int written);
        list.Add("content-length"u8, digits[..written]);
    }

    private static bool IsFramingHeader(string name) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Connection", StringComparison.OrdinalIgnoreCase);

    /// <summary>Fields that belong to an HTTP/1.1 connection (RFC 9113 §8.2.2): a handler written for
    /// HTTP/1.1 may pass them; HTTP/2 has no use for them.</summary>
    private static bool IsHttp11ConnectionField(string name) =>
        name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase);
}
