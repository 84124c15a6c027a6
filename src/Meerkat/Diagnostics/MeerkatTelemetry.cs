// How this file works: the public names of what Meerkat reports (its Meter and its ActivitySource,
// both named "Meerkat"), and the ActivitySource itself. Instruments live in MeerkatMetrics, one set
// per Meter. Nothing here costs anything while nobody listens: instruments check Enabled and the
// source checks HasListeners before any work (docs/observability.md).
using System.Diagnostics;
using System.Reflection;

namespace Meerkat.Diagnostics;

/// <summary>
/// The names under which Meerkat publishes metrics (<see cref="System.Diagnostics.Metrics.Meter"/>
/// <see cref="MeterName"/>) and traces (<see cref="ActivitySource"/> <see cref="ActivitySourceName"/>).
/// Subscribe with the OpenTelemetry SDK (<c>AddMeter("Meerkat")</c>, <c>AddSource("Meerkat")</c>),
/// a <see cref="System.Diagnostics.Metrics.MeterListener"/>, an <see cref="ActivityListener"/>,
/// <c>PrometheusMetrics</c>, or <c>dotnet-counters monitor --counters Meerkat</c>.
/// Instruments, attributes, span names and log events are listed in docs/observability.md.
/// </summary>
public static class MeerkatTelemetry
{
    /// <summary>The name of Meerkat's <see cref="System.Diagnostics.Metrics.Meter"/>: <c>Meerkat</c>.</summary>
    public const string MeterName = "Meerkat";

    /// <summary>The name of Meerkat's <see cref="System.Diagnostics.ActivitySource"/>: <c>Meerkat</c>.</summary>
    public const string ActivitySourceName = "Meerkat";

    /// <summary>The version both report (the library's informational version, without build metadata).</summary>
    public static string Version { get; } = (typeof(MeerkatTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>The source of Meerkat's spans: one server span per HTTP request received (kind
    /// <see cref="ActivityKind.Server"/>), one client span per HTTP request sent (kind <see cref="ActivityKind.Client"/>).
    /// Spans exist only when a listener samples them.</summary>
    public static ActivitySource ActivitySource { get; } = new(ActivitySourceName, Version);
}
