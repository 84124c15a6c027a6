// How this file works: the client side of HTTP/1.1 on one outbound connection, on the loop
// thread. Requests go out through the Send* methods (head, then a whole or streamed body);
// responses come in through the sans-I/O HttpMessageReader, which this class drives over the
// connection's receive buffer and turns into events for the user's handler:
//   HttpHeaders (final head) -> HttpBody* (de-chunked pieces) -> HttpMessage -> HttpDone.
// Interim 1xx responses are not raised: 100 Continue releases a held body, others are skipped.
// Memory stays bounded: body bytes are raised as views of the receive buffer and consumed at once,
// and nothing is parsed while the application has paused the body (backpressure), so the receive
// buffer fills, the loop stops reading, and TCP flow control slows the server.
// A connection that ends while a response is incomplete raises Error (then Close), never a short body.
// Over TLS (https://), a read-until-close body is complete only when the server's close_notify
// ended it: a bare TCP close there may be a truncation (DESIGN.md §4.3).
using System.Buffers;
using Meerkat.Tls;
using System.Text;

namespace Meerkat.Http.Client;

internal sealed class HttpClientProtocol(HttpClientConnectionOptions options) : Protocol
{
    /// <summary>A request on the wire whose response has not ended yet.</summary>
    private sealed class Pending
    {
        public string Method { get; set; } = "";
        public bool BufferResponse { get; set; }
        public bool CloseAfterResponse { get; set; }
        public bool HoldsBody { get; set; }
    }

    /// <summary>Where the request body being sent is. Idle -> Streaming -> Idle; Holding -> Idle.</summary>
    private enum Upload { Idle, Holding, Streaming }

    private readonly HttpMessageReader reader = new(isRequest: false, options.Limits);
    private readonly Queue<Pending> pending = new();
    // The last answered entry, reused by the next request (a keep-alive connection needs one).
    private Pending? spare;
    private readonly ArrayBufferWriter<byte> scratch = new(1024);
    private readonly RequestHeadWriter headWriter = new();
    private readonly FieldStrings strings = new();
    private HttpResponse? response;
    private ArrayBufferWriter<byte>? message;
    private Upload upload;
    private bool uploadChunked;
    private long uploadRemaining;
    private ReadOnlyMemory<byte> heldBody;
    private ManagerTimer? continueTimer;
    private bool endOfStream;
    private bool pumping;

    /// <summary>The application paused the response body: nothing more is parsed until resumed.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>Requests sent whose responses have not ended.</summary>
    public int PendingCount => pending.Count;

    /// <summary>True while a streamed request body is being sent.</summary>
    public bool IsUploading => upload != Upload.Idle;

    /// <summary>The response being received, if its head arrived.</summary>
    public HttpResponse? CurrentResponse => response;

    /// <summary>Called (loop thread) after each pass over the receive buffer, once the events of
    /// the bytes at hand were raised: MeerkatHttpClient publishes a head there, so a small body that
    /// arrived with it reaches the caller in the same hop.</summary>
    internal Action<Connection>? PumpEnded { get; set; }

    // ------------------------------------------------------------------ sending

    public bool SendRequest(Connection connection, HttpClientRequest request)
    {
        var content = request.Content ?? ReadOnlyMemory<byte>.Empty;
        bool hasBody = request.Content is not null || request.Method is "POST" or "PUT" or "PATCH";
        var entry = WriteHead(request, hasBody ? content.Length : -2);
        bool expectContinue = content.Length > 0 && string.Equals(request.GetHeader("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase);
        if (expectContinue)
        {
            upload = Upload.Holding;
            heldBody = content;
            entry.HoldsBody = true;
            continueTimer = connection.Manager.AddTimer(options.ExpectContinueTimeout, TimeSpan.Zero, _ => ReleaseHeldBody(connection));
        }
        else
        {
            scratch.Write(content.Span);
        }
        return Flush(connection);
    }

    public bool SendRequestHead(Connection connection, HttpClientRequest request, long contentLength)
    {
        _ = WriteHead(request, contentLength);
        upload = Upload.Streaming;
        uploadChunked = contentLength < 0;
        uploadRemaining = contentLength;
        return Flush(connection);
    }

    public bool SendRequestBody(Connection connection, ReadOnlySpan<byte> data)
    {
        if (upload != Upload.Streaming) throw new InvalidOperationException("SendRequestBody needs a request started with SendRequestHead and not yet ended");
        if (data.IsEmpty) return true;
        if (uploadChunked)
        {
            ChunkedEncoder.WriteChunk(scratch, data);
        }
        else
        {
            if (data.Length > uploadRemaining) throw new InvalidOperationException($"the body is longer than the Content-Length announced ({uploadRemaining} bytes left, {data.Length} given)");
            uploadRemaining -= data.Length;
            scratch.Write(data);
        }
        return Flush(connection);
    }

    public bool EndRequestBody(Connection connection, IEnumerable<KeyValuePair<string, string>>? trailers)
    {
        if (upload != Upload.Streaming) throw new InvalidOperationException("EndRequestBody needs a request started with SendRequestHead and not yet ended");
        if (!uploadChunked && uploadRemaining != 0) throw new InvalidOperationException($"the body is {uploadRemaining} bytes shorter than the Content-Length announced");
        if (uploadChunked)
        {
            ChunkedEncoder.WriteLastChunkStart(scratch);
            foreach (var (name, value) in trailers ?? []) HeadWriting.WriteField(scratch, name, value);
            ChunkedEncoder.WriteEnd(scratch);
        }
        upload = Upload.Idle;
        return Flush(connection);
    }

    /// <summary>contentLength: &gt;= 0 Content-Length, -1 chunked, -2 no body. Nothing is queued when
    /// the request is rejected (a bad method, target or field).</summary>
    private Pending WriteHead(HttpClientRequest request, long contentLength)
    {
        if (upload != Upload.Idle) throw new InvalidOperationException("the previous request's body is still being sent (or waits for 100 Continue)");
        bool close;
        try
        {
            close = WriteFields(request, contentLength);
        }
        catch
        {
            scratch.ResetWrittenCount();
            throw;
        }
        var entry = spare ?? new Pending();
        spare = null;
        entry.Method = request.Method;
        entry.BufferResponse = request.BufferResponse;
        entry.CloseAfterResponse = close;
        entry.HoldsBody = false;
        pending.Enqueue(entry);
        if (pending.Count == 1) SetResponseContext(request.Method);
        return entry;
    }

    /// <summary>Writes the head into the scratch buffer; true when it asks the server to close.</summary>
    private bool WriteFields(HttpClientRequest request, long contentLength)
    {
        var uri = request.Uri;
        string target = uri.PathAndQuery.Length == 0 ? "/" : uri.PathAndQuery;
        string host = uri.IdnHost;
        // Encoded on the stack (short fields) rather than into arrays per request.
        Span<byte> method = request.Method.Length <= 32 ? stackalloc byte[32] : new byte[request.Method.Length];
        method = method[..Encoding.ASCII.GetBytes(request.Method, method)];
        Span<byte> path = target.Length <= 512 ? stackalloc byte[512] : new byte[target.Length];
        path = path[..Encoding.ASCII.GetBytes(target, path)];
        headWriter.WriteRequestLine(scratch, method, path);
        Span<byte> authority = host.Length <= 240 ? stackalloc byte[256] : new byte[host.Length + 16];
        int length = Encoding.ASCII.GetBytes(host, authority);
        if (!uri.IsDefaultPort)
        {
            authority[length++] = (byte)':';
            uri.Port.TryFormat(authority[length..], out int digits, provider: System.Globalization.CultureInfo.InvariantCulture);
            length += digits;
        }
        headWriter.WriteHeader(scratch, "Host"u8, authority[..length]);
        bool close = false;
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"the client writes the {name} field itself; remove it from the request headers", nameof(request));
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("close", StringComparison.OrdinalIgnoreCase)) close = true;
            HeadWriting.WriteField(scratch, name, value);
        }
        if (contentLength >= 0) headWriter.WriteHeader(scratch, "Content-Length"u8, contentLength);
        else if (contentLength == -1) headWriter.WriteHeader(scratch, "Transfer-Encoding"u8, "chunked"u8);
        headWriter.WriteEnd(scratch);
        return close;
    }

    private bool Flush(Connection connection)
    {
        bool sent = connection.Send(scratch.WrittenSpan);
        scratch.ResetWrittenCount();
        return sent;
    }

    private void ReleaseHeldBody(Connection connection)
    {
        if (upload != Upload.Holding) return;
        upload = Upload.Idle;
        continueTimer?.Cancel();
        continueTimer = null;
        connection.Send(heldBody.Span);
        heldBody = default;
    }

    // ------------------------------------------------------------------ receiving

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                Pump(connection);
                break;
            case EventKind.Close:
                continueTimer?.Cancel();
                break;
        }
    }

    public override bool OnEndOfStream(Connection connection)
    {
        endOfStream = true;
        Pump(connection);
        return true;
    }

    public void Pause() => IsPaused = true;

    /// <summary>Unpauses; the buffered response continues in the loop's work phase, never inside the
    /// caller's ResumeResponseBody (STYLE.md: no events raised synchronously inside API calls).</summary>
    public void Resume(Connection connection)
    {
        if (!IsPaused) return;
        IsPaused = false;
        connection.Manager.ScheduleWork(connection);
    }

    public override void OnWork(Connection connection)
    {
        if (!IsPaused) Pump(connection);
    }

    /// <summary>Feeds the receive buffer to the reader until it needs more bytes, the application
    /// pauses, or the connection closes. Re-entrant calls (a handler resuming) are ignored: the
    /// outer loop carries on.</summary>
    private void Pump(Connection connection)
    {
        if (pumping) return;
        pumping = true;
        try
        {
            while (!IsPaused && connection.State < ConnectionState.Closing)
            {
                var result = reader.Read(connection.ReceiveBuffer.Memory, endOfStream, out int consumed);
                if (result == HttpReadResult.NeedMoreData)
                {
                    connection.Consume(consumed);
                    break;
                }
                Dispatch(connection, result);
                if (connection.State < ConnectionState.Closing) connection.Consume(consumed);
            }
            if (endOfStream && !IsPaused && connection.State < ConnectionState.Closing) FinishEndOfStream(connection);
        }
        finally
        {
            pumping = false;
        }
        PumpEnded?.Invoke(connection);
    }

    private void Dispatch(Connection connection, HttpReadResult result)
    {
        switch (result)
        {
            case HttpReadResult.Interim:
                if (reader.Head.StatusCode == 100 && pending.TryPeek(out var waiting) && waiting.HoldsBody) ReleaseHeldBody(connection);
                break;
            case HttpReadResult.Head:
                OnHead(connection);
                break;
            case HttpReadResult.Body:
                OnBody(connection, reader.Body.Span);
                break;
            case HttpReadResult.MessageEnd:
                if (IsTruncatedUntilCloseBody(connection))
                {
                    Fail(connection, $"the TLS connection closed without close_notify, so the read-until-close response body may be cut short ({Received()})");
                    break;
                }
                OnMessageEnd(connection);
                break;
            case HttpReadResult.Upgrade:
                Fail(connection, "the server switched protocols (101), which this client does not support");
                break;
            default:
                Fail(connection, reader.Error == HttpError.IncompleteMessage
                    ? $"the connection closed before the response was complete ({Received()})"
                    : $"malformed response: {reader.Error.Message()}");
                break;
        }
    }

    private void OnHead(Connection connection)
    {
        if (!pending.TryPeek(out var request))
        {
            Fail(connection, $"the server sent a response ({reader.Head.StatusCode}) to no request");
            return;
        }
        if (request.HoldsBody && upload == Upload.Holding)
        {
            // A final answer before 100 Continue: the body is never sent, so the server and we
            // disagree about the framing of the request; the connection cannot be reused.
            upload = Upload.Idle;
            heldBody = default;
            continueTimer?.Cancel();
            request.CloseAfterResponse = true;
        }
        response = new HttpResponse(reader.Head, request.Method, strings);
        message = request.BufferResponse ? new ArrayBufferWriter<byte>() : null;
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpHeaders, subject: response));
    }

    private void OnBody(Connection connection, ReadOnlySpan<byte> piece)
    {
        response!.BodyBytesReceived += piece.Length;
        if (message is not null)
        {
            if (message.WrittenCount + (long)piece.Length > options.MaxBufferedBodySize)
            {
                Fail(connection, $"the response body is larger than MaxBufferedBodySize ({options.MaxBufferedBodySize} bytes)");
                return;
            }
            message.Write(piece);
        }
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpBody, piece, subject: response));
    }

    private void OnMessageEnd(Connection connection)
    {
        var done = response!;
        var request = pending.Dequeue();
        bool closeAfterResponse = request.CloseAfterResponse;
        spare = request;
        done.SetTrailers(reader.Trailers);
        var body = message is null ? ReadOnlySpan<byte>.Empty : message.WrittenSpan;
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpMessage, body, done.BodyBytesReceived, subject: done));
        message = null;
        response = null;
        if (connection.State >= ConnectionState.Closing) return;
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpDone, subject: done));
        if (connection.State >= ConnectionState.Closing) return;
        if (!done.KeepAlive || closeAfterResponse)
        {
            if (pending.Count > 0) Fail(connection, $"the server closed the connection with {pending.Count} request(s) unanswered");
            else connection.Close();
            return;
        }
        if (pending.TryPeek(out var next)) SetResponseContext(next.Method);
    }

    /// <summary>A read-until-close body ended by the transport over TLS without the peer's close_notify.</summary>
    private bool IsTruncatedUntilCloseBody(Connection connection) =>
        endOfStream && response is { Framing: HttpFraming.UntilClose } && !options.AllowUntilCloseBodyWithoutCloseNotify
        && connection.Security is TlsLayer { IsCloseNotifyReceived: false };

    private void FinishEndOfStream(Connection connection)
    {
        if (pending.Count == 0)
        {
            connection.Close();
            return;
        }
        Fail(connection, response is null
            ? "the server closed the connection before sending a response"
            : $"the connection closed before the response was complete ({Received()})");
    }

    private string Received() =>
        response is null ? "no response head"
        : response.ContentLength >= 0 ? $"{response.BodyBytesReceived} of {response.ContentLength} body bytes"
        : $"{response.BodyBytesReceived} body bytes, {response.Framing} framing";

    private void Fail(Connection connection, string reason) =>
        connection.Manager.Fail(connection, new HttpClientException(reason, isResponseStarted: response is not null));

    /// <summary>What the response reader must know of the request: only HEAD and CONNECT change
    /// how a response is framed (methods are case-sensitive, RFC 9110 §9.1).</summary>
    private void SetResponseContext(string method) =>
        reader.SetRequestMethod(method == "HEAD" ? "HEAD"u8 : method == "CONNECT" ? "CONNECT"u8 : "GET"u8);
}
