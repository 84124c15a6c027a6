// How this file works: the client side of HTTP/2 on one outbound connection, glue over the
// Http2Connection core, carrying the same loop-level API and events as HttpClientProtocol: each
// request is a stream, and its response raises HttpHeaders, HttpBody, HttpMessage and HttpDone (with
// e.Response, a distinct object per stream), interleaved with the other streams' as the frames come.
//
// Which HTTP: with prior knowledge (h2c) the connection speaks HTTP/2 from its Connect; over TLS it
// asks for h2 and http/1.1 by ALPN and decides at TlsHandshake. Requests given before that wait here;
// if the server chose HTTP/1.1, an HttpClientProtocol takes the connection over and they are replayed
// to it in order. Requests beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS wait too, and open as
// streams end.
//
// A stream the server refused unprocessed (REFUSED_STREAM, as when more were opened than its SETTINGS
// allow before they arrived) is sent again on this connection, a few times at most, when the request
// is whole at hand. Any other stream that ends before its response head began no transaction, so it
// raises no event: the connection stays, and StreamLost tells MeerkatHttpClient's pool, which hands
// it to that stream's exchange alone (sent again if never processed, else failed). Backpressure is per stream: the core credits nothing by itself (CreditsStreamsOnDelivery off); a delivered piece is
// credited back at once unless the application paused that stream's body, in which case the credit
// waits for Resume and the server stops at the stream's window while the other streams go on.
//
// Telemetry is per stream (docs/observability.md): the client span starts when the stream opens, as
// a child of the span current where the request was given, and its traceparent goes into the head;
// the stream's close records http.client.request.duration with network.protocol.version "2".
using System.Buffers;
using System.Diagnostics;
using Meerkat.Diagnostics;
using System.Net.Security;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tls;

namespace Meerkat.Http2;

/// <summary>The client side of HTTP/2 on one connection (glue over <see cref="Http2Connection"/>).</summary>
internal sealed class Http2ClientProtocol(HttpClientConnectionOptions options, bool isTls) : Protocol, IHttpClientProtocol
{
    private static readonly TimeSpan TickPeriod = TimeSpan.FromSeconds(1);
    private const int MaxRefusals = 3;

    private readonly Queue<Http2ClientStream> _unopened = new();
    private readonly List<Http2ClientStream> _open = [];
    private readonly HttpClientTelemetry _telemetry = new();
    private Http2Connection? _core;
    private Manager? _manager; // the clock of FlushUpload, which has no connection at hand
    private HttpClientProtocol? _fallback;
    private Http2ClientStream? _current;
    private Http2ClientStream? _uploading;
    private HttpClientException? _failure;
    // The connection failed and our GOAWAY waits in the send buffer: it fails once that is written (or at the next tick).
    private bool _failsWhenFlushed;
    private ManagerTimer? _ticker;
    private bool _isProcessing;

    /// <summary>ALPN protocols a TLS connection offers when it may speak HTTP/2.</summary>
    public static IReadOnlyList<SslApplicationProtocol> AlpnProtocols { get; } = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    public Action<Connection>? PumpEnded { get; set; }

    /// <summary>MeerkatHttpClient's pool: a request's stream ended before any response head (tag, error, whether the server
    /// refused it unprocessed). Without it, such an end is only logged.</summary>
    public Action<Connection, object?, Exception, bool>? StreamLost { get; set; }

    /// <summary>The tag of the request whose event is being raised (MeerkatHttpClient's exchange), else null.</summary>
    public object? CurrentTag => _current?.Tag;

    /// <summary>The connection speaks HTTP/2 (prior knowledge, or ALPN chose h2).</summary>
    public bool IsHttp2 => _core is not null;

    /// <summary>The server chose HTTP/1.1 by ALPN: the connection's protocol is an <see cref="HttpClientProtocol"/> now.</summary>
    public bool IsHttp11 => _fallback is not null;

    /// <summary>New requests may go on this connection (it is not going away).</summary>
    public bool IsAcceptingStreams => _fallback is null && _failure is null && (_core is null || _core.State <= Http2ConnectionState.Open);

    /// <summary>Streams carry their own transactions (the lifecycle checker tracks them per response).</summary>
    public override bool IsMultiplexed => true;

    public int PendingCount => _fallback?.PendingCount ?? _unopened.Count + _open.Count;

    /// <summary>How many more requests may be given now without waiting for a stream to end: the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS (100 until its SETTINGS arrive, as <see cref="Http2Connection.CanOpenStream"/>
    /// assumes) less the requests open and waiting; 0 while the protocol is undecided or the connection is going away.</summary>
    public int StreamRoom
    {
        get
        {
            if (!IsAcceptingStreams || (_core is null && isTls)) return 0;
            uint limit = _core is null || _core.State == Http2ConnectionState.AwaitingSettings
                ? Math.Min(InitialConcurrencyGuess, _core?.RemoteSettings.MaxConcurrentStreams ?? uint.MaxValue)
                : _core.RemoteSettings.MaxConcurrentStreams;
            return (int)Math.Clamp((long)limit - _unopened.Count - _open.Count, 0, int.MaxValue);
        }
    }

    private const uint InitialConcurrencyGuess = 100;

    // ------------------------------------------------------------------ the loop-level API (HttpClientExtensions)

    public bool SendRequest(Connection connection, HttpClientRequest request) => Send(connection, request, tag: null) is not null;

    public bool SendRequestHead(Connection connection, HttpClientRequest request, long contentLength)
    {
        var stream = SendHead(connection, request, contentLength, tag: null);
        if (stream is null) return false;
        _uploading = stream;
        return true;
    }

    public bool SendRequestBody(Connection connection, ReadOnlySpan<byte> data) =>
        SendBody(connection, _uploading ?? throw NoStreamedBody("SendRequestBody"), data);

    public bool EndRequestBody(Connection connection, IEnumerable<KeyValuePair<string, string>>? trailers)
    {
        var stream = _uploading ?? throw NoStreamedBody("EndRequestBody");
        _uploading = null;
        return EndBody(connection, stream, trailers);
    }

    public void Pause()
    {
        if (_current is not null) _current.IsPaused = true;
        else foreach (var stream in _open) stream.IsPaused = true;
    }

    public void Resume(Connection connection)
    {
        if (_current is not null) Resume(connection, _current);
        else foreach (var stream in _open) Resume(connection, stream);
    }

    public override bool IsAddressedWritable => (_current ?? _uploading) is not { } stream || IsWritable(stream);

    // ------------------------------------------------------------------ per request (MeerkatHttpClient's exchanges hold the handle)

    /// <summary>Sends a request with its whole body (or none); null when the connection takes no more requests.</summary>
    /// <exception cref="ArgumentException">A field the client writes, or one HTTP/2 cannot carry; CONNECT; TRACE with content.</exception>
    public Http2ClientStream? Send(Connection connection, HttpClientRequest request, object? tag)
    {
        if (_fallback is not null) return _fallback.SendRequest(connection, request) ? new Http2ClientStream(request, tag, 0) : null;
        var content = request.Content ?? ReadOnlyMemory<byte>.Empty;
        bool hasBody = request.Content is not null || request.Method is "POST" or "PUT" or "PATCH";
        var stream = Prepare(connection, request, tag, hasBody ? content.Length : -1);
        if (stream is null) return null;
        stream.Content = content;
        stream.Upload = content.IsEmpty ? Http2UploadState.None : Http2UploadState.Whole;
        stream.IsReplayable = true;
        return Enqueue(connection, stream);
    }

    /// <summary>Sends a request head whose body follows with <see cref="SendBody"/>: <paramref name="contentLength"/> bytes, or unknown (-1).</summary>
    public Http2ClientStream? SendHead(Connection connection, HttpClientRequest request, long contentLength, object? tag)
    {
        if (_fallback is not null) return _fallback.SendRequestHead(connection, request, contentLength) ? new Http2ClientStream(request, tag, 0) : null;
        if (_uploading is not null) throw new InvalidOperationException("the previous request's body is still being sent");
        var stream = Prepare(connection, request, tag, contentLength);
        if (stream is null) return null;
        stream.DeclaredLength = stream.Remaining = contentLength;
        stream.Upload = contentLength == 0 ? Http2UploadState.Ending : Http2UploadState.Streaming;
        return Enqueue(connection, stream);
    }

    /// <summary>A piece of a streamed body; false when the connection refuses it (closing, or too much waits for window).</summary>
    /// <exception cref="InvalidOperationException">No streamed body is in progress, or the piece runs past the declared length.</exception>
    public bool SendBody(Connection connection, Http2ClientStream stream, ReadOnlySpan<byte> data)
    {
        if (_fallback is not null) return _fallback.SendRequestBody(connection, data);
        if (stream.Upload != Http2UploadState.Streaming) throw NoStreamedBody("SendRequestBody");
        if (stream.Remaining >= 0)
        {
            if (data.Length > stream.Remaining) throw new InvalidOperationException($"the request body exceeds its Content-Length by {data.Length - stream.Remaining} bytes");
            stream.Remaining -= data.Length;
        }

        if (stream.IsClosed || connection.State >= ConnectionState.Draining) return false;
        if (stream.StreamId != 0 && stream.Waiting.IsEmpty)
        {
            if (!_core!.TrySendData(stream.StreamId, data, endStream: false, connection.Manager.Ticks, out int written)) return false;
            data = data[written..];
        }

        return stream.Waiting.Append(data);
    }

    /// <summary>Ends a streamed body (with trailer fields, when given).</summary>
    /// <exception cref="InvalidOperationException">No streamed body is in progress, or it is shorter than its declared length.</exception>
    public bool EndBody(Connection connection, Http2ClientStream stream, IEnumerable<KeyValuePair<string, string>>? trailers)
    {
        if (_fallback is not null) return _fallback.EndRequestBody(connection, trailers);
        if (stream.Upload != Http2UploadState.Streaming) throw NoStreamedBody("EndRequestBody");
        if (stream.Remaining > 0) throw new InvalidOperationException($"the request body is {stream.Remaining} bytes shorter than its Content-Length");
        stream.Trailers = trailers?.ToArray() is { Length: > 0 } fields ? fields : null;
        stream.Upload = Http2UploadState.Ending;
        FlushUpload(stream);
        return !stream.IsClosed;
    }

    /// <summary>True when the stream's body may take more now (nothing waits for window, the send buffer has room).</summary>
    public bool IsWritable(Http2ClientStream stream) => stream.Waiting.IsEmpty;

    /// <summary>Abandons a request: its stream is reset (CANCEL), or it never opens. Other streams go on.</summary>
    public void Cancel(Connection connection, Http2ClientStream stream)
    {
        if (_fallback is not null)
        {
            connection.Close();
            return;
        }

        if (stream.IsClosed) return;
        if (stream.StreamId == 0)
        {
            stream.IsClosed = true; // skipped when its turn to open comes
            EndMeasure(connection, stream, HttpOutcome.Cancelled, null);
            return;
        }

        _core!.ResetStream(stream.StreamId, Http2ErrorCode.Cancel, HttpOutcome.Cancelled);
        connection.Manager.ScheduleWork(connection);
    }

    public void Pause(Http2ClientStream stream)
    {
        if (_fallback is not null) _fallback.Pause();
        else stream.IsPaused = true;
    }

    /// <summary>Credits back what a paused stream withheld: the server may send again. Raises nothing.</summary>
    public void Resume(Connection connection, Http2ClientStream stream)
    {
        if (_fallback is not null)
        {
            _fallback.Resume(connection);
            return;
        }

        stream.IsPaused = false;
        if (stream.Withheld == 0 || stream.IsClosed || _core is null) return;
        _core.ReturnCredit(stream.StreamId, stream.Withheld);
        stream.Withheld = 0;
    }

    // ------------------------------------------------------------------ the loop's events

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Connect:
                _telemetry.Connected(connection);
                if (!isTls) Start(connection);
                break;
            case EventKind.TlsHandshake:
                if (connection.Security is TlsLayer { Session: { } ssl } && ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2) Start(connection);
                else FallBack(connection);
                break;
            case EventKind.Read:
                Process(connection);
                break;
            case EventKind.Write when _failsWhenFlushed && connection.SendBufferedBytes == 0:
                connection.Manager.Fail(connection, _failure!);
                break;
            case EventKind.Close:
                _ticker?.Cancel();
                _telemetry.Closed(connection);
                break;
        }
    }

    public override void OnWork(Connection connection) => Process(connection);

    public override bool OnEndOfStream(Connection connection)
    {
        if (_core is null) return false;
        Process(connection);
        if (_open.Count > 0 || _unopened.Count > 0) _failure ??= new HttpClientException($"the server closed the connection with {_open.Count + _unopened.Count} request(s) in progress");
        _core.ReceiveEndOfStream();
        Process(connection);
        return connection.State >= ConnectionState.Closing;
    }

    /// <summary>Every stream still open ends (HttpDone, or StreamLost before its head) before Error or Close.</summary>
    public override void OnClosing(Connection connection, CloseCause cause, Exception? error)
    {
        _ticker?.Cancel();
        if (_core is not null)
        {
            _core.Abort(HttpClientProtocol.OutcomeOf(cause, error), error?.Message ?? "the connection closed");
            while (true)
            {
                var e = _core.Receive(default, connection.Manager.Ticks, out _);
                if (e.Kind == Http2EventKind.NeedMoreData) break;
                if (e.Kind == Http2EventKind.StreamClosed && e.UserState is Http2ClientStream stream) OnStreamClosed(connection, stream, e, error);
            }
        }

        while (_unopened.TryDequeue(out var waiting))
        {
            if (waiting.IsClosed) continue;
            waiting.IsClosed = true;
            EndMeasure(connection, waiting, HttpClientProtocol.OutcomeOf(cause, error), error);
            Lost(connection, waiting, new HttpClientException(error is null ? "the connection closed before the request was sent" : $"the connection failed before the request was sent: {error.Message}", false, error), isRefused: true);
        }
    }

    // ------------------------------------------------------------------ inside

    private Http2ClientStream? Prepare(Connection connection, HttpClientRequest request, object? tag, long contentLength)
    {
        CheckMethod(request, contentLength);
        if (!IsAcceptingStreams || connection.State >= ConnectionState.Draining) return null;
        var stream = new Http2ClientStream(request, tag, connection.Manager.Options.MaxSendBufferSize) { Parent = Activity.Current };
        BuildHead(stream.Head, request, contentLength);
        if (request.BufferResponse) stream.Buffered = new ArrayBufferWriter<byte>();
        return stream;
    }

    private Http2ClientStream Enqueue(Connection connection, Http2ClientStream stream)
    {
        _unopened.Enqueue(stream);
        if (_core is not null) connection.Manager.ScheduleWork(connection);
        return stream;
    }

    /// <summary>The request's header section (RFC 9113 §8.3.1): what the HTTP/1.1 client would write, without the
    /// fields of an HTTP/1.1 connection (§8.2.2).</summary>
    private static void BuildHead(Http2HeaderList head, HttpClientRequest request, long contentLength)
    {
        var uri = request.Uri;
        head.Clear();
        head.Add(":method", request.Method).Add(":scheme", uri.Scheme)
            .Add(":authority", uri.GetComponents(UriComponents.Host | UriComponents.Port, UriFormat.UriEscaped))
            .Add(":path", uri.GetComponents(UriComponents.PathAndQuery, UriFormat.UriEscaped));
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"the client writes the {name} field itself; remove it from the request headers", nameof(request));
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
                continue; // HTTP/1.1 connection management; HTTP/2 has none per request
            head.Add(name, value);
        }

        if (contentLength >= 0) head.Add("content-length", contentLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void CheckMethod(HttpClientRequest request, long contentLength)
    {
        // RFC 9110 §9.3.6: CONNECT would make the stream a tunnel; RFC 9110 §9.3.8: TRACE has no content.
        if (request.Method == "CONNECT") throw new ArgumentException("CONNECT is not supported: this client does not open tunnels", nameof(request));
        if (request.Method == "TRACE" && contentLength > 0) throw new ArgumentException("a TRACE request must not have content (RFC 9110 §9.3.8)", nameof(request));
    }

    private static InvalidOperationException NoStreamedBody(string call) =>
        new($"{call} needs a request started with SendRequestHead and not yet ended");

    /// <summary>HTTP/2 from here: the preface and SETTINGS go out, and the waiting requests open as streams.</summary>
    private void Start(Connection connection)
    {
        var settings = new Http2Options
        {
            CreditsStreamsOnDelivery = false,
            MaxHeaderListSize = options.Limits.MaxHeaderBytes,
        };
        _manager = connection.Manager;
        _core = new Http2Connection(isServer: false, connection.SendWriter, connection.Manager.Ticks, settings);
        _ticker = connection.Manager.AddTimer(TickPeriod, TickPeriod, _ => Tick(connection));
        Process(connection);
    }

    /// <summary>ALPN chose HTTP/1.1: an HttpClientProtocol takes over, and the waiting requests go to it in order.</summary>
    private void FallBack(Connection connection)
    {
        var http11 = new HttpClientProtocol(options) { PumpEnded = PumpEnded };
        _fallback = http11;
        connection.Protocol = http11;
        _telemetry.Closed(connection); // the connection is counted by the HTTP/1.1 protocol's telemetry from here
        http11.TakeOver(connection);
        while (_unopened.TryDequeue(out var stream))
        {
            if (stream.IsClosed) continue;
            if (stream.Upload is Http2UploadState.None or Http2UploadState.Whole && stream.DeclaredLength < 0)
            {
                http11.SendRequest(connection, stream.Request);
                continue;
            }

            http11.SendRequestHead(connection, stream.Request, stream.DeclaredLength);
            if (!stream.Waiting.IsEmpty) http11.SendRequestBody(connection, stream.Waiting.Span);
            stream.Waiting.Release();
            if (stream.Upload == Http2UploadState.Ending) http11.EndRequestBody(connection, stream.Trailers);
        }
    }

    private void Tick(Connection connection)
    {
        if (_core is null || connection.State >= ConnectionState.Closing) return;
        if (_failsWhenFlushed)
        {
            connection.Manager.Fail(connection, _failure!); // a peer that does not read our GOAWAY is not waited for
            return;
        }

        _core.Tick(connection.Manager.Ticks);
        Process(connection);
    }

    private void Process(Connection connection)
    {
        if (_core is null || _isProcessing) return;
        _isProcessing = true;
        try
        {
            while (connection.State < ConnectionState.Closing && connection.Protocol == this)
            {
                var e = _core.Receive(connection.Received, connection.Manager.Ticks, out int consumed);
                if (e.Kind == Http2EventKind.NeedMoreData)
                {
                    if (consumed > 0) connection.Consume(consumed);
                    break;
                }

                Dispatch(connection, e);
                if (consumed > 0 && connection.State < ConnectionState.Closed) connection.Consume(consumed);
            }

            OpenWaiting(connection);
        }
        finally
        {
            _isProcessing = false;
        }

        PumpEnded?.Invoke(connection);
        if (_core.State != Http2ConnectionState.Closed || connection.State >= ConnectionState.Draining) return;
        if (_failure is null)
        {
            connection.CloseAfterDrain();
            return;
        }

        // RFC 9113 §5.4.1: the GOAWAY saying why goes out before the connection closes; failing now would drop it.
        if (connection.SendBufferedBytes > 0 && !_failsWhenFlushed)
        {
            _failsWhenFlushed = true;
            return;
        }

        connection.Manager.Fail(connection, _failure);
    }

    /// <summary>Opens waiting requests as streams while the server's concurrency limit allows.</summary>
    private void OpenWaiting(Connection connection)
    {
        while (_core!.CanOpenStream && connection.State < ConnectionState.Draining && _unopened.TryDequeue(out var stream))
        {
            if (stream.IsClosed) continue;
            if (!stream.IsMeasured) BeginMeasure(connection, stream);
            stream.StreamId = _core.OpenStream(stream.Head, endStream: stream.Upload == Http2UploadState.None);
            _core.SetUserState(stream.StreamId, stream);
            _open.Add(stream);
            FlushUpload(stream);
        }
    }

    private void Dispatch(Connection connection, Http2Event e)
    {
        switch (e.Kind)
        {
            case Http2EventKind.Headers when e.UserState is Http2ClientStream stream:
                OnResponseHead(connection, stream, e);
                break;
            case Http2EventKind.Data when e.UserState is Http2ClientStream stream:
                OnData(connection, stream, e.Data, e.IsEndStream);
                break;
            case Http2EventKind.Trailers when e.UserState is Http2ClientStream stream:
                stream.Response!.SetTrailers(e.Section!.Fields);
                RaiseMessage(connection, stream);
                break;
            case Http2EventKind.StreamClosed when e.UserState is Http2ClientStream stream:
                OnStreamClosed(connection, stream, e, null);
                break;
            case Http2EventKind.StreamWritable when e.UserState is Http2ClientStream stream:
                FlushUpload(stream);
                break;
            case Http2EventKind.GoAway when e.ErrorCode != Http2ErrorCode.NoError:
                _failure ??= new HttpClientException($"the server ended the connection with GOAWAY {e.ErrorCode}");
                break;
            case Http2EventKind.ConnectionError:
                _failure ??= new HttpClientException($"HTTP/2 connection error {e.ErrorCode}: {e.Reason}");
                break;
        }
    }

    private void OnResponseHead(Connection connection, Http2ClientStream stream, Http2Event e)
    {
        var section = e.Section!;
        if (section.IsInformational || stream.Response is not null) return; // 1xx heads pass by, as on HTTP/1.1
        var response = new HttpResponse(section, stream.Request.Method, hasContent: !e.IsEndStream);
        stream.Response = response;
        Raise(connection, stream, new Event(EventKind.HttpHeaders, subject: response));
        if (e.IsEndStream) RaiseMessage(connection, stream);
    }

    private void OnData(Connection connection, Http2ClientStream stream, ReadOnlySpan<byte> data, bool isEnd)
    {
        var response = stream.Response!;
        if (!data.IsEmpty)
        {
            response.BodyBytesReceived += data.Length;
            if (stream.Buffered is { } buffered)
            {
                if (buffered.WrittenCount + (long)data.Length > options.MaxBufferedBodySize)
                {
                    _core!.ResetStream(stream.StreamId, Http2ErrorCode.Cancel, HttpOutcome.ProtocolError);
                    return;
                }

                buffered.Write(data);
            }

            Raise(connection, stream, new Event(EventKind.HttpBody, data, subject: response));
            if (stream.IsPaused) stream.Withheld += data.Length;
            else if (!stream.IsClosed) _core!.ReturnCredit(stream.StreamId, data.Length);
        }

        if (isEnd) RaiseMessage(connection, stream);
    }

    private void RaiseMessage(Connection connection, Http2ClientStream stream)
    {
        var response = stream.Response!;
        ReadOnlySpan<byte> body = stream.Buffered is null ? default : stream.Buffered.WrittenSpan;
        Raise(connection, stream, new Event(EventKind.HttpMessage, body, response.BodyBytesReceived, subject: response));
    }

    private void OnStreamClosed(Connection connection, Http2ClientStream stream, Http2Event e, Exception? cause)
    {
        _open.Remove(stream);
        if (e.IsRefused && stream.Response is null && TrySendAgain(stream)) return;
        stream.IsClosed = true;
        EndMeasure(connection, stream, e.Outcome, cause ?? (e.Outcome == HttpOutcome.Completed ? null : _failure));
        if (_uploading == stream) _uploading = null;
        stream.Waiting.Release();
        if (stream.Response is { } response)
        {
            var error = e.Outcome == HttpOutcome.Completed ? null
                : new HttpClientException($"the response on HTTP/2 stream {stream.StreamId} was cut: {e.Reason ?? e.Outcome.ToString()} ({e.ErrorCode})", true, cause);
            Raise(connection, stream, new Event(EventKind.HttpDone, count: (long)e.Outcome, error: error, subject: response));
            return;
        }

        string why = e.IsRefused ? "the server refused the stream before processing it" : $"the stream ended before a response: {e.Reason ?? e.Outcome.ToString()} ({e.ErrorCode})";
        Lost(connection, stream, new HttpClientException($"{stream.Request.Method} {stream.Request.Uri}: {why}", false, cause), e.IsRefused);
    }

    /// <summary>A stream the server refused unprocessed (REFUSED_STREAM: typically opened before its SETTINGS told
    /// its concurrency limit) waits to open again on this connection, while it stays open and the request is
    /// whole at hand; a few times at most. False: the request is lost (StreamLost).</summary>
    private bool TrySendAgain(Http2ClientStream stream)
    {
        if (!stream.IsReplayable || stream.Refusals >= MaxRefusals || _core is not { State: <= Http2ConnectionState.Open }) return false;
        stream.Refusals++;
        stream.StreamId = 0;
        stream.Content = stream.Request.Content ?? ReadOnlyMemory<byte>.Empty;
        stream.Upload = stream.Content.IsEmpty ? Http2UploadState.None : Http2UploadState.Whole;
        _unopened.Enqueue(stream);
        return true;
    }

    /// <summary>Starts the request's client span (a child of where the request was given), puts its trace context
    /// into the head, and starts measuring: the head goes out now.</summary>
    private void BeginMeasure(Connection connection, Http2ClientStream stream)
    {
        Activity? span = null;
        if (MeerkatTelemetry.ActivitySource.HasListeners())
        {
            var ambient = Activity.Current;
            Activity.Current = stream.Parent;
            span = HttpClientTelemetry.StartSpan(connection, stream.Request);
            Activity.Current = ambient;
            if (span is not null && stream.Request.GetHeader("traceparent") is null) TraceContext.Inject(span, stream.Head);
        }

        stream.Measure = _telemetry.BeginStream(connection, stream.Request, span);
        stream.Parent = null;
    }

    /// <summary>Records a measured request's end (metrics, span), once.</summary>
    private void EndMeasure(Connection connection, Http2ClientStream stream, HttpOutcome outcome, Exception? error)
    {
        if (!stream.IsMeasured) return;
        _telemetry.EndStream(connection, stream.Measure, outcome, stream.Response, error);
        stream.Measure = default;
    }

    private void Lost(Connection connection, Http2ClientStream stream, HttpClientException error, bool isRefused)
    {
        if (StreamLost is { } lost) lost(connection, stream.Tag, error, isRefused);
        else connection.Manager.Log(LogSeverity.Warning, "http2-stream-lost", error.Message, error, connection.Id);
    }

    private void Raise(Connection connection, Http2ClientStream stream, Event e)
    {
        var previous = _current;
        _current = stream;
        try
        {
            connection.Manager.RaiseToUser(connection, e);
        }
        finally
        {
            _current = previous;
        }
    }

    /// <summary>Sends what the window allows of a stream's body, and its end once all of it is out.</summary>
    private void FlushUpload(Http2ClientStream stream)
    {
        if (stream.StreamId == 0 || stream.IsClosed || _core is null) return;
        long now = _manager!.Ticks;
        switch (stream.Upload)
        {
            case Http2UploadState.Whole:
                if (!_core.TrySendData(stream.StreamId, stream.Content.Span, endStream: true, now, out int sent))
                {
                    stream.Upload = Http2UploadState.None;
                    return;
                }

                stream.Content = stream.Content[sent..];
                if (stream.Content.IsEmpty) stream.Upload = Http2UploadState.None;
                break;
            case Http2UploadState.Streaming or Http2UploadState.Ending:
                bool isLast = stream.Upload == Http2UploadState.Ending && stream.Trailers is null;
                if (!stream.Waiting.IsEmpty || isLast)
                {
                    if (!_core.TrySendData(stream.StreamId, stream.Waiting.Span, isLast, now, out int written)) return;
                    stream.Waiting.Consume(written);
                }

                if (!stream.Waiting.IsEmpty || stream.Upload != Http2UploadState.Ending) return;
                stream.Upload = Http2UploadState.None;
                if (stream.Trailers is { } trailers)
                {
                    var list = new Http2HeaderList();
                    foreach (var (name, value) in trailers) list.Add(name, value);
                    _core.SendHeaders(stream.StreamId, list, endStream: true);
                }

                break;
        }
    }
}
