namespace Meerkat.Http;

/// <summary>
/// The server side of HTTP/1.1 on one accepted connection: parses requests from the receive
/// buffer, raises the transaction events, and frames the response the handler gives.
/// </summary>
/// <remarks>
/// <para>One transaction at a time (DESIGN.md §3.4): request N+1 is not parsed, and its
/// <c>HttpHeaders</c> not raised, before request N's <c>HttpDone</c>; pipelined bytes wait in the
/// receive buffer. A transaction ends (<c>HttpDone</c>) when both the request has been read and the
/// response is complete, so a handler may answer at once, or later (a deferred response, e.g. from
/// a <c>Wakeup</c>), and the connection stays open meanwhile, whatever the request said.</para>
/// <para>Phases and their legal successors:</para>
/// <list type="bullet">
/// <item>Head: waiting for a request head → Body, Complete, Closing.</item>
/// <item>Body: reading (or discarding) the request body → Complete, Closing.</item>
/// <item>Complete: the request is read; waiting for the response → Head (keep-alive), Closing.</item>
/// <item>Closing: nothing more is parsed or answered (DESIGN.md §4.4).</item>
/// </list>
/// </remarks>
internal sealed class HttpServerProtocol : Protocol
{
    private enum Phase { Head, Body, Complete, Closing }

    private static readonly byte[] Continue100 = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly HttpServerOptions options;
    private readonly HttpMessageReader reader;
    private readonly HttpRequest request = new();
    private readonly HttpResponseState response = new();
    private readonly IoBuffer body;
    private byte[] headCopy = [];
    private HttpMessageReader? headCopyReader;
    private Phase phase;
    private bool inTransaction;
    private bool discardBody;
    private long bodyBytes;
    private bool processing;
    private long headStarted;
    private long idleSince;
    private Action<Connection>? switchProtocols;

    public HttpServerProtocol(HttpServerOptions options)
    {
        this.options = options;
        reader = new HttpMessageReader(isRequest: true, options.Limits);
        body = new IoBuffer(16 * 1024, (int)Math.Min(options.MaxBufferedBodySize, int.MaxValue));
        idleSince = Manager.Now;
    }

    public HttpServerOptions Options => options;

    public HttpRequest Request => request;

    public HttpResponseState Response => response;

    /// <summary>A transaction has begun (HttpHeaders raised) and not yet ended.</summary>
    public bool HasPendingRequest => inTransaction;

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Read:
                if (phase == Phase.Head && !inTransaction && headStarted == 0) headStarted = Manager.Now;
                Process(connection);
                break;
            case EventKind.Write:
                Pump(connection);
                break;
            case EventKind.Close:
                body.Release();
                response.Reset();
                break;
        }
    }

    public override bool OnEndOfStream(Connection connection)
    {
        // A client that half-closes after its request still gets the answer, deferred or not.
        if (!inTransaction) return false;
        connection.Manager.ScheduleWork(connection);
        return true;
    }

    public override void OnWork(Connection connection) => Process(connection);

    /// <summary>The handler completed or advanced the response: continue when the loop is ready.</summary>
    public void ResponseChanged(Connection connection)
    {
        if (response.Producer is not null) Pump(connection);
        if (response.IsComplete && !processing) connection.Manager.ScheduleWork(connection);
    }

    /// <summary>Answers the pending upgrade request with 101 and <paramref name="headers"/>; when its
    /// transaction ends (after <c>HttpDone</c>) <paramref name="switched"/> installs the new protocol,
    /// which owns every byte left in the receive buffer.</summary>
    public void SwitchProtocols(Connection connection, IReadOnlyList<KeyValuePair<string, string>> headers, Action<Connection> switched)
    {
        response.SwitchProtocols(connection.SendWriter, headers, options.ServerName);
        switchProtocols = switched;
        ResponseChanged(connection);
    }

    /// <summary>Whether the connection will close after the current response.</summary>
    public bool WillClose(Connection connection) =>
        !request.KeepAlive || phase == Phase.Closing || connection.IsPeerClosed && connection.Received.IsEmpty
        || phase == Phase.Body && !CanDrainRest();

    /// <summary>Closes idle connections and answers 408 to heads that take too long.</summary>
    public void CheckDeadlines(Connection connection, long now)
    {
        if (phase != Phase.Head || inTransaction || connection.State >= ConnectionState.Draining) return;
        if (headStarted != 0 && now - headStarted > Ticks(options.HeaderTimeout))
            Reject(connection, 408, "The request head took too long to arrive.");
        else if (headStarted == 0 && connection.Received.IsEmpty && now - idleSince > Ticks(options.IdleTimeout))
            connection.CloseAfterDrain();
    }

    private void Process(Connection connection)
    {
        if (processing) return;
        processing = true;
        try
        {
            while (connection.State < ConnectionState.Draining && connection.Protocol == this && Step(connection)) { }
            if (connection.IsPeerClosed && !inTransaction && connection.State < ConnectionState.Draining && connection.Protocol == this) connection.CloseAfterDrain();
        }
        finally
        {
            processing = false;
        }
    }

    /// <summary>One step of the transaction; false when it must wait for bytes or the response.</summary>
    private bool Step(Connection connection)
    {
        if (phase == Phase.Closing) return false;
        if (phase == Phase.Complete)
        {
            if (!response.IsComplete) return false;
            FinishTransaction(connection);
            return true;
        }
        var result = reader.Read(connection.ReceivedMemory, connection.IsPeerClosed, out int consumed);
        switch (result)
        {
            case HttpReadResult.Head:
                OnHead(connection, consumed);
                return true;
            case HttpReadResult.Body:
                OnBody(connection, consumed);
                return true;
            case HttpReadResult.MessageEnd:
                connection.Consume(consumed);
                OnMessageEnd(connection);
                return true;
            case HttpReadResult.Upgrade:
                // The request asked to switch protocols and was not switched: answered like any other
                // once its response is done (see FinishTransaction); nothing else to parse until then.
                return false;
            case HttpReadResult.Error:
                Reject(connection, reader.ErrorStatusCode, reader.Error.Message());
                return false;
            default:
                connection.Consume(consumed);
                return false;
        }
    }

    private void OnHead(Connection connection, int consumed)
    {
        inTransaction = true;
        discardBody = false;
        bodyBytes = 0;
        request.StreamBody = false;
        request.BodyMemory = default;
        request.Head = reader.Head;
        phase = Phase.Body;
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpHeaders, subject: request));
        if (connection.State >= ConnectionState.Draining || phase == Phase.Closing) return;
        bool hasBody = request.HasBody;
        if (hasBody) KeepHeadStable(connection, consumed);
        connection.Consume(consumed);
        if (!hasBody) return;
        if (response.IsStarted)
        {
            // Answered before the body was read: read and discard what we may, then carry on.
            discardBody = true;
            return;
        }
        long limit = request.StreamBody ? options.MaxStreamedBodySize : options.MaxBufferedBodySize;
        if (request.ContentLength > limit)
        {
            Reject(connection, 413, $"The request body of {request.ContentLength} bytes exceeds the limit of {limit} bytes.");
            return;
        }
        if (reader.Head.ExpectContinue && request.VersionMinor == 1) connection.Send(Continue100);
    }

    private void OnBody(Connection connection, int consumed)
    {
        var piece = reader.Body.Span;
        bodyBytes += piece.Length;
        if (discardBody)
        {
            connection.Consume(consumed);
            if (bodyBytes > options.MaxDrainSize) CloseAfterResponse(connection);
            return;
        }
        long limit = request.StreamBody ? options.MaxStreamedBodySize : options.MaxBufferedBodySize;
        if (bodyBytes > limit)
        {
            Reject(connection, 413, $"The request body exceeds the limit of {limit} bytes.");
            return;
        }
        if (request.StreamBody) connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpBody, piece, subject: request));
        else body.Append(piece);
        connection.Consume(consumed);
    }

    private void OnMessageEnd(Connection connection)
    {
        phase = Phase.Complete;
        headStarted = 0;
        request.BodyMemory = body.Memory;
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpMessage, subject: request));
        request.BodyMemory = default;
        body.Consume(body.Length);
    }

    private void FinishTransaction(Connection connection)
    {
        bool close = response.CloseAfter || connection.IsPeerClosed && connection.Received.IsEmpty;
        bool declinedUpgrade = request.Head.IsUpgrade && response.StatusCode != 101;
        var switched = response.StatusCode == 101 ? switchProtocols : null;
        switchProtocols = null;
        inTransaction = false;
        request.ResponseStatus = response.StatusCode;
        connection.Manager.RaiseToUser(connection, new Event(EventKind.HttpDone, subject: request));
        response.Reset();
        if (close || connection.State >= ConnectionState.Draining)
        {
            phase = Phase.Closing;
            connection.CloseAfterDrain();
            return;
        }
        if (switched is not null)
        {
            // 101 sent: nothing more is HTTP; the rest of the receive buffer is the new protocol's.
            phase = Phase.Closing;
            body.Release();
            switched(connection);
            return;
        }
        if (declinedUpgrade) reader.ContinueAfterDeclinedUpgrade();
        phase = Phase.Head;
        idleSince = Manager.Now;
        headStarted = connection.Received.IsEmpty ? 0 : idleSince;
    }

    /// <summary>Answers an error the peer caused (400, 408, 413, 414, 431, 501, 505) and closes.</summary>
    private void Reject(Connection connection, int status, string message)
    {
        phase = Phase.Closing;
        if (!response.IsStarted && connection.State < ConnectionState.Draining)
        {
            request.Head ??= reader.Head;
            var text = System.Text.Encoding.UTF8.GetBytes(message + "\n");
            var writer = connection.SendWriter;
            response.Begin(writer, request, status, text.Length, "text/plain; charset=utf-8", [], close: true, options.ServerName, headParsed: inTransaction);
            response.Write(writer, text);
            response.End(writer);
        }
        connection.CloseAfterDrain();
    }

    private void CloseAfterResponse(Connection connection)
    {
        phase = Phase.Closing;
        if (response.IsComplete) connection.CloseAfterDrain();
    }

    private bool CanDrainRest() =>
        request.Head is not null && (!request.HasBody || request.ContentLength >= 0 && request.ContentLength - bodyBytes <= options.MaxDrainSize);

    /// <summary>A request with a body may span several reads, and the receive buffer may move
    /// between them: the head is copied and parsed again, so the request stays readable until its
    /// <c>HttpMessage</c>.</summary>
    private void KeepHeadStable(Connection connection, int headLength)
    {
        if (headCopy.Length < headLength) headCopy = new byte[Math.Max(headLength, 1024)];
        connection.Received[..headLength].CopyTo(headCopy);
        headCopyReader ??= new HttpMessageReader(isRequest: true, options.Limits);
        headCopyReader.Restart();
        headCopyReader.Read(headCopy.AsMemory(0, headLength), false, out _);
        request.Head = headCopyReader.Head;
    }

    /// <summary>Fills the send buffer from the response's producer while the connection can take more.</summary>
    private void Pump(Connection connection)
    {
        var producer = response.Producer;
        if (producer is null || !response.IsStarted || response.IsComplete) return;
        var writer = connection.SendWriter;
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (connection.IsWritable)
            {
                int n = producer(scratch);
                if (n <= 0)
                {
                    response.End(writer);
                    response.Producer = null;
                    ResponseChanged(connection);
                    return;
                }
                response.Write(writer, scratch.AsSpan(0, n));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
}
