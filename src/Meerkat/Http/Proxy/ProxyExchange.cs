// How this file works: one request forwarded by the reverse proxy, on the loop thread. The client's
// side (downstream, an HTTP server connection) and the upstream side (an HTTP client connection
// from the UpstreamPool) each drive one state machine here:
//
//   response (ProxyState)
//     AwaitingHead  request sent (its body may still stream), no response head yet
//                     -> Responding (head forwarded), Tunnelling (101), Finished (502/504 answered)
//     Responding    the response body streams downstream    -> BackedUp, Completed, Finished (cut)
//     BackedUp      the client's send buffer is full: the upstream is paused -> Responding, Finished
//     Completed     the response ended; the upstream's HttpDone releases its connection -> Finished
//     Tunnelling    101 forwarded: the connections are spliced (TunnelProtocol) -> Finished
//     Finished      nothing more crosses; the upstream connection was released or closed. Terminal.
//
//   request body (RequestBody)
//     None      no body                                   (terminal)
//     Streaming pieces forwarded as they come             -> Paused, Ended
//     Paused    the upstream's send buffer is full: the client's body is paused -> Streaming, Ended
//     Ended     the body ended (or the upstream no longer wants it)   (terminal)
//
// On an HTTP/2 client connection each stream has its own exchange (and upstream connection): the
// upstream's events and the timer answer the exchange's own stream, addressed explicitly
// (Protocol.Address), since the server calls address the stream whose event is being raised.
//
// Every transaction ends on both sides: an upstream failure answers 502/504 or closes the client's
// connection once its response began; the client's transaction ending first (a cut, a close) is the
// router disposing this exchange, which closes an upstream connection still in use.
using Meerkat.Http.Client;
using Meerkat.Http.Routing;

namespace Meerkat.Http.Proxy;

internal enum ProxyState { AwaitingHead, Responding, BackedUp, Completed, Tunnelling, Finished }

internal enum RequestBody { None, Streaming, Paused, Ended }

/// <summary>One forwarded request (see the file header). Disposed by the router when the client's transaction ends.</summary>
internal sealed class ProxyExchange : IDisposable
{
    private readonly ReverseProxy proxy;
    private readonly Connection downstream;
    private readonly UpstreamPool pool;
    private readonly HttpClientRequest request;
    private readonly ConnectionHandler onUpstream;
    private Connection? upstream;
    private object? stream; // the client's HTTP/2 stream (its request's Owner.Target); null on HTTP/1.x or once the transaction ended
    private ProxyState state;
    private RequestBody body;
    private bool isReused;
    private bool isChunkedDownstream;
    private Exception? upstreamError;
    private ManagerTimer? timer;
    private long lastProgress;

    public ProxyExchange(ReverseProxy proxy, Connection downstream, UpstreamPool pool, HttpClientRequest request)
    {
        this.proxy = proxy;
        this.downstream = downstream;
        this.pool = pool;
        this.request = request;
        onUpstream = OnUpstream;
    }

    /// <summary>Sends the request head (and opens or reuses an upstream connection).</summary>
    public void Start(HttpRequest downstreamRequest)
    {
        isChunkedDownstream = downstreamRequest.VersionMajor >= 2 || downstreamRequest.VersionMinor >= 1;
        if (downstream.Protocol is { IsMultiplexed: true }) stream = downstreamRequest.Owner.Target;
        body = downstreamRequest.HasBody ? RequestBody.Streaming : RequestBody.None;
        lastProgress = downstream.Manager.Ticks;
        timer = downstream.Manager.AddTimer(proxy.Options.UpstreamTimeout, TimeSpan.Zero, OnTimer);
        long length = downstreamRequest.ContentLength >= 0 ? downstreamRequest.ContentLength : -1;
        Send(fresh: false, length);
    }

    private void Send(bool fresh, long length)
    {
        upstream = pool.Acquire(onUpstream, fresh, out isReused);
        bool sent = body == RequestBody.None ? upstream.SendRequest(request) : upstream.SendRequestHead(request, length);
        if (!sent && upstream.State >= ConnectionState.Draining) Fail(502, "the upstream connection closed before the request could be sent");
    }

    // ------------------------------------------------------------------ the client's side (router events)

    public void OnDownstream(Event e)
    {
        switch (e.Kind)
        {
            // Paused as well: on HTTP/2 what the client had sent within its window still arrives.
            case EventKind.HttpBody when body is RequestBody.Streaming or RequestBody.Paused && upstream is { } u:
                if (!u.SendRequestBody(e.Data))
                {
                    // Refused (the upstream connection is closing, or its send buffer is at its maximum): the
                    // body cannot be forwarded whole, so neither side may take it for complete.
                    proxy.Log(downstream, $"the request body could not be forwarded to {request.Uri.Authority}");
                    Dispose();
                    downstream.Close();
                    return;
                }
                if (!u.IsWritable && body == RequestBody.Streaming)
                {
                    body = RequestBody.Paused;
                    downstream.PauseRequestBody();
                }
                break;
            case EventKind.HttpMessage when body is RequestBody.Streaming or RequestBody.Paused:
                body = RequestBody.Ended;
                if (upstream is { } open && state < ProxyState.Finished) open.EndRequestBody(Trailers(e.Request!));
                break;
            case EventKind.Write when state == ProxyState.BackedUp && downstream.IsWritable:
                state = ProxyState.Responding;
                upstream?.ResumeResponseBody();
                break;
        }
    }

    /// <summary>The client's transaction ended (or its connection closed): an upstream connection still
    /// carrying this request closes, so neither side waits for the other.</summary>
    public void Dispose()
    {
        stream = null;
        timer?.Cancel();
        if (state is ProxyState.Completed or ProxyState.Finished) return;
        state = ProxyState.Finished;
        upstream?.Close();
    }

    // ------------------------------------------------------------------ the upstream's side

    private void OnUpstream(Connection u, Event e)
    {
        if (u != upstream) return;
        if (stream is null)
        {
            OnUpstreamEvent(u, e);
            return;
        }
        var protocol = downstream.Protocol!;
        var previous = protocol.Address(stream);
        try
        {
            OnUpstreamEvent(u, e);
        }
        finally
        {
            protocol.Address(previous);
        }
    }

    private void OnUpstreamEvent(Connection u, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.HttpHeaders when state == ProxyState.AwaitingHead:
                OnResponseHead(e.Response!);
                break;
            case EventKind.HttpBody when state is ProxyState.Responding or ProxyState.BackedUp:
                lastProgress = downstream.Manager.Ticks;
                if (!downstream.WriteBody(e.Data) && state == ProxyState.Responding)
                {
                    state = ProxyState.BackedUp;
                    u.PauseResponseBody();
                }
                break;
            case EventKind.HttpMessage when state is ProxyState.Responding or ProxyState.BackedUp:
                OnResponseEnd(e.Response!);
                break;
            case EventKind.HttpDone:
                OnUpstreamDone(u, e);
                break;
            case EventKind.Write when body == RequestBody.Paused && u.IsWritable:
                body = RequestBody.Streaming;
                downstream.ResumeRequestBody();
                break;
            case EventKind.Error:
                upstreamError = e.Error;
                break;
            case EventKind.Close:
                OnUpstreamClose();
                break;
        }
    }

    private void OnResponseHead(HttpResponse response)
    {
        lastProgress = downstream.Manager.Ticks;
        var fields = ProxyHeaders.ResponseFields(response, out string? contentType);
        if (response.StatusCode == 101)
        {
            state = ProxyState.Tunnelling;
            timer?.Cancel();
            var u = upstream!;
            var headers = new KeyValuePair<string, string>[fields.Length];
            for (int i = 0; i < fields.Length; i++) headers[i] = new(fields[i].Name, fields[i].Value);
            ((HttpServerProtocol)downstream.Protocol!).SwitchProtocols(downstream, headers, c => TunnelProtocol.Install(c, u));
            return;
        }
        state = ProxyState.Responding;
        long length = response.StatusCode is 204 or 304 ? -1
            : response.Framing == HttpFraming.ContentLength ? response.ContentLength
            : request.Method == "HEAD" ? DeclaredLength(response) // the length a GET would have (RFC 9110 §9.3.2)
            : -1;
        downstream.BeginResponse(response.StatusCode, length, contentType, fields);
    }

    private void OnResponseEnd(HttpResponse response)
    {
        state = ProxyState.Completed;
        timer?.Cancel();
        var trailers = response.Trailers;
        if (trailers.Count > 0 && response.Framing == HttpFraming.Chunked && isChunkedDownstream
            && downstream.Protocol is HttpServerProtocol { Response.Framing: HttpFraming.Chunked } or { IsMultiplexed: true })
        {
            var fields = new (string, string)[trailers.Count];
            for (int i = 0; i < fields.Length; i++) fields[i] = (trailers[i].Key, trailers[i].Value);
            downstream.EndResponse(fields);
        }
        else downstream.EndResponse();
        if (body == RequestBody.Paused) downstream.ResumeRequestBody(); // answered early: let the server drain or close
        if (body != RequestBody.None) body = RequestBody.Ended;
    }

    private void OnUpstreamDone(Connection u, Event e)
    {
        if (state == ProxyState.Tunnelling)
        {
            // The 101 is over: the rest of this connection's stream is the tunnel's.
            TunnelProtocol.Install(u, downstream);
            return;
        }
        if (state == ProxyState.Completed && e.Outcome == HttpOutcome.Completed)
        {
            state = ProxyState.Finished;
            upstream = null;
            pool.Release(u);
            return;
        }
        if (state is ProxyState.Responding or ProxyState.BackedUp)
        {
            // Cut mid-body: the client must not take a short body for a whole one.
            state = ProxyState.Finished;
            timer?.Cancel();
            downstream.Close();
        }
    }

    private void OnUpstreamClose()
    {
        var error = upstreamError;
        upstreamError = null;
        // Past the head, the upstream's HttpDone already settled the exchange (a tunnel's TunnelProtocol closes the other side).
        if (state != ProxyState.AwaitingHead) return;
        // A kept-alive connection the upstream closed while we reused it: nothing was answered, so a
        // request without a body goes again once, on a new connection.
        if (isReused && body == RequestBody.None && proxy.IsRetryable(request))
        {
            Send(fresh: true, 0);
            return;
        }
        if (error is TimeoutException) Fail(504, $"the upstream {request.Uri.Authority} did not connect in time: {error.Message}");
        else Fail(502, error is null
            ? $"the upstream {request.Uri.Authority} closed the connection without answering"
            : $"the upstream {request.Uri.Authority} failed: {error.Message}");
    }

    private void OnTimer(ManagerTimer fired)
    {
        if (stream is null)
        {
            OnTimerFired();
            return;
        }
        var protocol = downstream.Protocol!;
        var previous = protocol.Address(stream);
        try
        {
            OnTimerFired();
        }
        finally
        {
            protocol.Address(previous);
        }
    }

    private void OnTimerFired()
    {
        if (state is ProxyState.Finished or ProxyState.Completed or ProxyState.Tunnelling) return;
        long due = lastProgress + (long)(proxy.Options.UpstreamTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        if (state == ProxyState.BackedUp || downstream.Manager.Ticks < due)
        {
            // The client is the slow one, or the upstream made progress since: wait again.
            var wait = state == ProxyState.BackedUp ? proxy.Options.UpstreamTimeout : TimeSpan.FromSeconds((due - downstream.Manager.Ticks) / (double)System.Diagnostics.Stopwatch.Frequency);
            if (state == ProxyState.BackedUp) lastProgress = downstream.Manager.Ticks;
            timer = downstream.Manager.AddTimer(wait, TimeSpan.Zero, OnTimer);
            return;
        }
        string what = $"the upstream {request.Uri.Authority} did not answer within {proxy.Options.UpstreamTimeout.TotalSeconds:0.###} s";
        if (state == ProxyState.AwaitingHead) Fail(504, what);
        else
        {
            proxy.Log(downstream, what + " (the response was cut)");
            Dispose();
            downstream.Close();
        }
    }

    /// <summary>Answers the client with <paramref name="status"/> (502, 504) and lets the upstream connection go.</summary>
    private void Fail(int status, string message)
    {
        state = ProxyState.Finished;
        timer?.Cancel();
        var u = upstream;
        upstream = null;
        u?.Close();
        proxy.Log(downstream, message);
        if (body == RequestBody.Paused) downstream.ResumeRequestBody();
        body = RequestBody.Ended;
        if (downstream.State < ConnectionState.Draining && downstream.HasPendingRequest())
            downstream.Reply(status, $"{(status == 504 ? "Gateway Timeout" : "Bad Gateway")}: {message}\n");
    }

    private static long DeclaredLength(HttpResponse response) =>
        long.TryParse(response.GetHeader("Content-Length"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) ? n : -1;

    private static KeyValuePair<string, string>[]? Trailers(HttpRequest r)
    {
        if (r.Trailers.Count == 0) return null;
        var fields = new KeyValuePair<string, string>[r.Trailers.Count];
        for (int i = 0; i < fields.Length; i++) fields[i] = new(r.Trailers.GetNameString(i), r.Trailers.GetValueString(i));
        return fields;
    }
}
