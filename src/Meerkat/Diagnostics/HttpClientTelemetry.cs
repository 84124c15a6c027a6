// How this file works: the metrics and spans of one outbound HTTP connection's requests. Every
// request the client core accepts is queued here (a small struct, allocation-free once the queue
// has grown), so the queue stays aligned with the core's own whether or not anyone listens; each
// HttpDone ends the oldest, and the connection's end ends the rest (they never got a response).
// The client span is started before the head is written, so its traceparent goes into that head.
// The connection's http.client.open_connections state (idle, active) follows the queue.
// HTTP/2 streams end in any order, so they are not queued: each stream holds its own Pending
// (BeginStream when its head goes out, EndStream when it closes), and a count of the streams
// outstanding drives the connection's state.
using System.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Diagnostics;

/// <summary>Client-side HTTP metrics and spans of one connection (docs/observability.md). Loop thread only.</summary>
internal sealed class HttpClientTelemetry
{
    /// <summary>One request being measured: when it was sent, its method, its span.</summary>
    internal struct Pending
    {
        public long Start;
        public string Method;
        public Activity? Span;
    }

    private enum OpenState { NotCounted, Idle, Active }

    private readonly Queue<Pending> pending = new();
    private int streams;
    private OpenState open;
    private object? port;

    /// <summary>Starts the client span of a request about to be sent, as a child of <see cref="Activity.Current"/>
    /// (the server span whose handler sends it, or the caller of MeerkatHttpClient); null when no listener
    /// samples it. <see cref="Activity.Current"/> is left as it was.</summary>
    public static Activity? StartSpan(Connection connection, HttpClientRequest request)
    {
        if (!MeerkatTelemetry.ActivitySource.HasListeners()) return null;
        var ambient = Activity.Current;
        string method = TelemetryTags.MethodOf(request.Method);
        var span = MeerkatTelemetry.ActivitySource.StartActivity(method == TelemetryTags.OtherMethod ? "HTTP" : method, ActivityKind.Client);
        Activity.Current = ambient;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.Method, method);
            if (method == TelemetryTags.OtherMethod) span.SetTag(TelemetryTags.MethodOriginal, request.Method);
            span.SetTag(TelemetryTags.ServerAddress, request.Uri.Host);
            span.SetTag(TelemetryTags.ServerPort, request.Uri.Port);
            span.SetTag(TelemetryTags.UrlFull, request.Uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.UserInfo, UriFormat.UriEscaped));
        }
        return span;
    }

    /// <summary>The core accepted the request (its head is written): it is now outstanding.</summary>
    public void Sent(Connection connection, HttpClientRequest request, Activity? span)
    {
        var metrics = connection.Manager.Metrics;
        long start = span is not null || metrics.ClientRequestDuration.Enabled ? connection.Manager.Ticks : 0;
        pending.Enqueue(new Pending { Start = start, Method = TelemetryTags.MethodOf(request.Method), Span = span });
        if (pending.Count == 1 && open == OpenState.Idle) Move(connection, OpenState.Active);
    }

    /// <summary>A request was refused by the core or failed to write: its span ends without a request sent.</summary>
    public static void Abandon(Activity? span, Exception? error)
    {
        if (span is null) return;
        span.SetTag(TelemetryTags.ErrorType, error?.GetType().FullName ?? "not_sent");
        span.SetStatus(ActivityStatusCode.Error, error?.Message ?? "the connection takes no more requests");
        span.Stop();
    }

    /// <summary>The oldest request's HttpDone: <paramref name="response"/> is its response head.</summary>
    public void Ended(Connection connection, HttpOutcome outcome, HttpResponse? response, Exception? error)
    {
        if (!pending.TryDequeue(out var request)) return;
        int status = response?.StatusCode ?? 0;
        string? errorType = outcome != HttpOutcome.Completed ? TelemetryTags.OutcomeOf(outcome) : status >= 400 ? TelemetryTags.StatusTextOf(status) : null;
        Record(connection, request, status, response is null ? null : TelemetryTags.Http1VersionOf(response.VersionMinor), errorType, error);
        if (pending.Count == 0 && open == OpenState.Active) Move(connection, OpenState.Idle);
    }

    /// <summary>The connection ends: requests still outstanding never got a response.</summary>
    public void Abandoned(Connection connection, HttpOutcome outcome, Exception? error)
    {
        while (pending.TryDequeue(out var request)) Record(connection, request, 0, null, TelemetryTags.OutcomeOf(outcome), error);
    }

    /// <summary>HTTP/2: a stream's head goes out now (its span, if any, was started and injected before).</summary>
    public Pending BeginStream(Connection connection, HttpClientRequest request, Activity? span)
    {
        var metrics = connection.Manager.Metrics;
        long start = span is not null || metrics.ClientRequestDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        if (++streams == 1 && open == OpenState.Idle) Move(connection, OpenState.Active);
        return new Pending { Start = start, Method = TelemetryTags.MethodOf(request.Method), Span = span };
    }

    /// <summary>HTTP/2: a stream begun with <see cref="BeginStream"/> closed, with its response head or none.</summary>
    public void EndStream(Connection connection, in Pending request, HttpOutcome outcome, HttpResponse? response, Exception? error)
    {
        int status = response?.StatusCode ?? 0;
        // A stream that closed without a response head failed, whatever its outcome says.
        string? errorType = response is null ? TelemetryTags.OutcomeOf(outcome == HttpOutcome.Completed ? HttpOutcome.Reset : outcome)
            : outcome != HttpOutcome.Completed ? TelemetryTags.OutcomeOf(outcome) : status >= 400 ? TelemetryTags.StatusTextOf(status) : null;
        Record(connection, request, status, response is null ? null : TelemetryTags.Http2Version, errorType, error);
        if (--streams == 0 && open == OpenState.Active) Move(connection, OpenState.Idle);
    }

    /// <summary>The connection is established: it counts as open (idle, or active with requests queued before).</summary>
    public void Connected(Connection connection)
    {
        if (open == OpenState.NotCounted && connection.Manager.Metrics.ClientOpenConnections.Enabled)
            Move(connection, pending.Count > 0 || streams > 0 ? OpenState.Active : OpenState.Idle);
    }

    /// <summary>The connection closed.</summary>
    public void Closed(Connection connection) => Move(connection, OpenState.NotCounted);

    private void Record(Connection connection, in Pending request, int status, string? version, string? errorType, Exception? error)
    {
        var metrics = connection.Manager.Metrics;
        if (request.Start != 0 && metrics.ClientRequestDuration.Enabled)
        {
            var tags = new TagList
            {
                { TelemetryTags.Method, request.Method },
                { TelemetryTags.ServerAddress, connection.Host },
                { TelemetryTags.ServerPort, port ??= connection.Port },
                { TelemetryTags.Scheme, connection.Security is null ? "http" : "https" },
            };
            if (status != 0) tags.Add(TelemetryTags.StatusCode, TelemetryTags.StatusCodeOf(status));
            if (version is not null) tags.Add(TelemetryTags.ProtocolVersion, version);
            if (errorType is not null) tags.Add(TelemetryTags.ErrorType, errorType);
            metrics.ClientRequestDuration.Record(LoopClock.Seconds(request.Start, connection.Manager.Ticks), tags);
        }
        if (request.Span is not { } span) return;
        if (status != 0) span.SetTag(TelemetryTags.StatusCode, status);
        if (version is not null) span.SetTag(TelemetryTags.ProtocolVersion, version);
        if (errorType is not null)
        {
            span.SetTag(TelemetryTags.ErrorType, errorType);
            span.SetStatus(ActivityStatusCode.Error, error?.Message ?? errorType);
            if (error is not null) span.AddException(error);
        }
        span.Stop();
    }

    private void Move(Connection connection, OpenState next)
    {
        if (open == next) return;
        var counter = connection.Manager.Metrics.ClientOpenConnections;
        if (open != OpenState.NotCounted) counter.Add(-1, OpenTags(connection, open));
        if (next != OpenState.NotCounted) counter.Add(1, OpenTags(connection, next));
        open = next;
    }

    private TagList OpenTags(Connection connection, OpenState state) => new()
    {
        { TelemetryTags.ConnectionState, state == OpenState.Active ? "active" : "idle" },
        { TelemetryTags.ServerAddress, connection.Host },
        { TelemetryTags.ServerPort, port ??= connection.Port },
        { TelemetryTags.Scheme, connection.Security is null ? "http" : "https" },
    };
}
