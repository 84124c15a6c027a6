// How this file works: every instrument of the "Meerkat" Meter, created once per Meter: the shared
// one (a static Meter, what dotnet-counters and a plain MeterListener see) or one per IMeterFactory
// given in ManagerOptions.MeterFactory (dependency injection, tests that want their own). Names and
// attributes follow the OpenTelemetry semantic conventions for HTTP; Meerkat's own instruments are
// prefixed "meerkat.". Callers check an instrument's Enabled before computing anything to record.
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Meerkat.Diagnostics;

/// <summary>The instruments of one "Meerkat" <see cref="Meter"/>.</summary>
internal sealed class MeerkatMetrics
{
    /// <summary>OpenTelemetry's advice for HTTP durations (seconds).</summary>
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Loop lag is microseconds when all is well and milliseconds when it is not (seconds).</summary>
    private static readonly double[] LagBuckets = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    private static readonly ConditionalWeakTable<IMeterFactory, MeerkatMetrics> ByFactory = new();

    /// <summary>The instruments of the process-wide Meter.</summary>
    public static MeerkatMetrics Shared { get; } = new(new Meter(MeerkatTelemetry.MeterName, MeerkatTelemetry.Version));

    /// <summary>The instruments for a manager: its factory's Meter, else the shared one.</summary>
    public static MeerkatMetrics For(IMeterFactory? factory) =>
        factory is null ? Shared : ByFactory.GetValue(factory, f => new MeerkatMetrics(f.Create(new MeterOptions(MeerkatTelemetry.MeterName) { Version = MeerkatTelemetry.Version })));

    private MeerkatMetrics(Meter meter)
    {
        Meter = meter;
        ServerRequestDuration = meter.CreateHistogram("http.server.request.duration", "s", "Duration of HTTP server requests.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        ServerActiveRequests = meter.CreateUpDownCounter<long>("http.server.active_requests", "{request}", "Number of active HTTP server requests.");
        ClientRequestDuration = meter.CreateHistogram("http.client.request.duration", "s", "Duration of HTTP client requests.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        ClientOpenConnections = meter.CreateUpDownCounter<long>("http.client.open_connections", "{connection}",
            "Number of outbound HTTP connections that are currently active or idle.");
        OpenedConnections = meter.CreateCounter<long>("meerkat.opened_connections", "{connection}", "Connections opened (listeners, accepted, outbound).");
        ClosedConnections = meter.CreateCounter<long>("meerkat.closed_connections", "{connection}", "Connections closed.");
        ActiveConnections = meter.CreateUpDownCounter<long>("meerkat.active_connections", "{connection}", "Connections open now.");
        NetworkIo = meter.CreateCounter<long>("meerkat.network.io", "By", "Bytes received from and sent to sockets (ciphertext under TLS).");
        TlsHandshakeDuration = meter.CreateHistogram("meerkat.tls_handshake.duration", "s", "Duration of TLS handshakes, successful or not.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        WebSocketMessages = meter.CreateCounter<long>("meerkat.websocket.messages", "{message}", "WebSocket messages received and sent.");
        Errors = meter.CreateCounter<long>("meerkat.errors", "{error}", "Failures by kind: connections that failed, handlers that threw, requests refused, limits hit.");
        LoopLag = meter.CreateHistogram("meerkat.loop.lag", "s",
            "Per loop iteration with ready sockets, the longest time one waited between the readiness report and its handling.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
    }

    /// <summary>The Meter these instruments belong to.</summary>
    public Meter Meter { get; }

    /// <summary><c>http.server.request.duration</c>: seconds from the request head to the end of the response.</summary>
    public Histogram<double> ServerRequestDuration { get; }

    /// <summary><c>http.server.active_requests</c>.</summary>
    public UpDownCounter<long> ServerActiveRequests { get; }

    /// <summary><c>http.client.request.duration</c>: seconds from sending the request to the end of the response.</summary>
    public Histogram<double> ClientRequestDuration { get; }

    /// <summary><c>http.client.open_connections</c> by <c>http.connection.state</c> (active, idle).</summary>
    public UpDownCounter<long> ClientOpenConnections { get; }

    /// <summary><c>meerkat.opened_connections</c> by role.</summary>
    public Counter<long> OpenedConnections { get; }

    /// <summary><c>meerkat.closed_connections</c> by role.</summary>
    public Counter<long> ClosedConnections { get; }

    /// <summary><c>meerkat.active_connections</c> by role.</summary>
    public UpDownCounter<long> ActiveConnections { get; }

    /// <summary><c>meerkat.network.io</c> by direction and role.</summary>
    public Counter<long> NetworkIo { get; }

    /// <summary><c>meerkat.tls_handshake.duration</c>.</summary>
    public Histogram<double> TlsHandshakeDuration { get; }

    /// <summary><c>meerkat.websocket.messages</c> by direction and type.</summary>
    public Counter<long> WebSocketMessages { get; }

    /// <summary><c>meerkat.errors</c> by <c>error.type</c> and role.</summary>
    public Counter<long> Errors { get; }

    /// <summary><c>meerkat.loop.lag</c>.</summary>
    public Histogram<double> LoopLag { get; }
}
