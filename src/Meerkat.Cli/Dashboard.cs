using System.Globalization;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Cli;

/// <summary>The demo's front page, a live dashboard: its HTML, CSS and JavaScript are embedded
/// resources (Dashboard/, served through <see cref="FileSource.FromEmbeddedResources"/>), and its
/// figures come from <c>/api/live</c>, a Server-Sent Events stream of <see cref="LiveStats"/> snapshots.</summary>
internal static class Dashboard
{
    /// <summary>The embedded files, under <c>/dashboard/</c> (the page itself is also <c>/</c>).</summary>
    public static StaticFileOptions Files { get; } = new()
    {
        Source = FileSource.FromEmbeddedResources(typeof(Dashboard).Assembly, "dashboard/"),
        CacheControl = "no-cache",
    };

    /// <summary>Starts the live stream: the last two minutes at once (event <c>history</c>), then a snapshot a second.</summary>
    public static void StartLiveFeed(Connection c, LiveStats stats)
    {
        c.BeginEventStream();
        c.SendEvent(stats.HistoryJson(), "history");
        c.Tag = new LiveFeed(stats);
        c.AddTimer(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>A live stream's timer fired: send the current snapshot.</summary>
    public static void SendSnapshot(Connection c, LiveFeed feed)
    {
        var snapshot = feed.Stats.Refresh();
        c.SendEvent(LiveStats.Json(snapshot), id: snapshot.UnixMs.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The per-connection state of a live stream.</summary>
    internal sealed class LiveFeed(LiveStats stats)
    {
        public LiveStats Stats { get; } = stats;
    }
}

/// <summary>What the demo measures while it runs: the dashboard's figures and the Prometheus
/// exposition at <c>/metrics</c>. Both listen to the process-wide <c>Meerkat</c> meter.</summary>
internal sealed class DemoTelemetry : IDisposable
{
    public LiveStats Live { get; } = new();

    public PrometheusMetrics Prometheus { get; } = new(i => i.Meter.Name == MeerkatTelemetry.MeterName && i.Meter.Scope is null);

    public void Dispose()
    {
        Live.Dispose();
        Prometheus.Dispose();
    }
}
