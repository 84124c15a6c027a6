// How this file works: the metrics and the span of one server transaction, begun when its
// HttpHeaders is raised to the user and ended when its HttpDone is (Manager.RaiseHttpToUser), the
// point every server transaction passes whatever the protocol version. Per-transaction state lives
// on the request (HttpRequest.Telemetry). With no listener this is a few Enabled checks and no
// allocation; with metrics only, still no allocation (cached attribute values, an inline TagList).
using System.Diagnostics;
using Meerkat.Http;

namespace Meerkat.Diagnostics;

/// <summary>What one server transaction recorded when it began, to end it consistently.</summary>
internal struct ServerTransactionTelemetry
{
    /// <summary>When the transaction began, on the manager's clock; 0 when nothing is measured.</summary>
    public long Start;

    /// <summary><c>http.request.method</c> as recorded.</summary>
    public string? Method;

    /// <summary><c>url.scheme</c> as recorded.</summary>
    public string? Scheme;

    /// <summary>True when <c>http.server.active_requests</c> was incremented (and must be decremented).</summary>
    public bool IsCountedActive;

    /// <summary>The server span, when a listener sampled it.</summary>
    public Activity? Span;
}

/// <summary>Server-side HTTP metrics and spans (docs/observability.md).</summary>
internal static class HttpServerTelemetry
{
    /// <summary>Loop thread, just before HttpHeaders is raised: starts timing, counts the request active,
    /// and starts the server span (a child of the request's <c>traceparent</c>, if valid). The span is left
    /// as <see cref="Activity.Current"/>; the caller restores the previous one after the handler.</summary>
    public static void Begin(Connection connection, HttpRequest request)
    {
        ref var t = ref request.Telemetry;
        t = default;
        var metrics = connection.Manager.Metrics;
        bool isTraced = MeerkatTelemetry.ActivitySource.HasListeners();
        if (!isTraced && !metrics.ServerRequestDuration.Enabled && !metrics.ServerActiveRequests.Enabled) return;
        t.Start = connection.Manager.Ticks;
        t.Method = TelemetryTags.MethodOf(request.Method);
        t.Scheme = connection.Security is null ? "http" : "https";
        if (metrics.ServerActiveRequests.Enabled)
        {
            t.IsCountedActive = true;
            metrics.ServerActiveRequests.Add(1, new(TelemetryTags.Method, t.Method), new(TelemetryTags.Scheme, t.Scheme));
        }
        if (isTraced) t.Span = StartSpan(connection, request, t.Method, t.Scheme);
    }

    /// <summary>Loop thread, after HttpDone was raised: records the duration with the response's status,
    /// the route and how the transaction ended, and ends the span.</summary>
    public static void End(Connection connection, HttpRequest request, HttpOutcome outcome, Exception? error)
    {
        ref var t = ref request.Telemetry;
        if (t.Start == 0) return;
        var metrics = connection.Manager.Metrics;
        int status = request.ResponseStatus;
        string? route = request.Route;
        string? errorType = outcome != HttpOutcome.Completed ? TelemetryTags.OutcomeOf(outcome) : status >= 500 ? TelemetryTags.StatusTextOf(status) : null;
        if (t.IsCountedActive) metrics.ServerActiveRequests.Add(-1, new(TelemetryTags.Method, t.Method), new(TelemetryTags.Scheme, t.Scheme));
        if (metrics.ServerRequestDuration.Enabled)
        {
            var tags = new TagList
            {
                { TelemetryTags.Method, t.Method },
                { TelemetryTags.Scheme, t.Scheme },
                { TelemetryTags.ProtocolVersion, request.ProtocolVersion },
            };
            if (status != 0) tags.Add(TelemetryTags.StatusCode, TelemetryTags.StatusCodeOf(status));
            if (route is not null) tags.Add(TelemetryTags.Route, route);
            if (errorType is not null) tags.Add(TelemetryTags.ErrorType, errorType);
            metrics.ServerRequestDuration.Record(LoopClock.Seconds(t.Start, connection.Manager.Ticks), tags);
        }
        if (t.Span is { } span) EndSpan(span, t.Method!, status, route, errorType, error);
        t = default;
    }

    private static Activity? StartSpan(Connection connection, HttpRequest request, string method, string scheme)
    {
        bool hasParent = TraceContext.TryExtract(request, out var parent, out var baggage);
        // A request without a valid traceparent starts a trace of its own, whatever the loop thread's
        // ambient span is (the caller restores it after the handler).
        Activity.Current = null;
        var span = MeerkatTelemetry.ActivitySource.StartActivity(SpanName(method, null), ActivityKind.Server, hasParent ? parent : default);
        if (span is null) return null;
        if (span.IsAllDataRequested)
        {
            span.SetTag(TelemetryTags.Method, method);
            if (method == TelemetryTags.OtherMethod) span.SetTag(TelemetryTags.MethodOriginal, request.MethodString);
            span.SetTag(TelemetryTags.Scheme, scheme);
            span.SetTag(TelemetryTags.UrlPath, request.PathString);
            if (!request.Query.IsEmpty) span.SetTag(TelemetryTags.UrlQuery, request.QueryString);
            span.SetTag(TelemetryTags.ProtocolVersion, request.ProtocolVersion);
            if (request.GetHeader("Host") is { } host) span.SetTag(TelemetryTags.ServerAddress, StripPort(host));
            if (connection.LocalEndPoint is { } local) span.SetTag(TelemetryTags.ServerPort, local.Port);
            if (connection.RemoteEndPoint is { } remote) span.SetTag(TelemetryTags.ClientAddress, remote.Address.ToString());
            if (request.GetHeader("User-Agent") is { } agent) span.SetTag(TelemetryTags.UserAgent, agent);
        }
        if (baggage is not null)
            foreach (var (key, value) in baggage) span.AddBaggage(key, value);
        return span;
    }

    private static void EndSpan(Activity span, string method, int status, string? route, string? errorType, Exception? error)
    {
        if (route is not null)
        {
            span.DisplayName = SpanName(method, route);
            span.SetTag(TelemetryTags.Route, route);
        }
        if (status != 0) span.SetTag(TelemetryTags.StatusCode, status);
        if (errorType is not null)
        {
            span.SetTag(TelemetryTags.ErrorType, errorType);
            span.SetStatus(ActivityStatusCode.Error, error?.Message ?? errorType);
            if (error is not null) span.AddException(error);
        }
        span.Stop();
    }

    /// <summary>The conventions' span name: <c>{method} {route}</c>, <c>{method}</c>, or <c>HTTP</c> for an unknown method.</summary>
    private static string SpanName(string method, string? route) =>
        method == TelemetryTags.OtherMethod ? (route is null ? "HTTP" : "HTTP " + route) : route is null ? method : method + " " + route;

    private static string StripPort(string host)
    {
        if (host.StartsWith('[')) return host[..(host.IndexOf(']') + 1 is > 0 and var end ? end : host.Length)];
        int colon = host.LastIndexOf(':');
        return colon < 0 ? host : host[..colon];
    }
}
