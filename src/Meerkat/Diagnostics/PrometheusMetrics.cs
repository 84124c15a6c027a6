// How this file works: a MeterListener that aggregates what the instruments it enables record, and
// writes it out in the Prometheus text format 0.0.4 on demand (a scrape). Aggregation is cumulative
// since the listener started, per instrument and per distinct set of attributes (a series):
// counters add up (counter), up-down counters add up (gauge), gauges keep the last value (gauge),
// histograms count into the instrument's advised bucket boundaries, or OpenTelemetry's default ones
// (histogram: _bucket{le}, _sum, _count). Observable instruments are read at each scrape.
// Measurements arrive on the recording threads (several loop threads at once): each instrument's
// series are guarded by a lock; finding a series compares attributes and allocates only for a new one.
using System.Diagnostics.Metrics;
using System.Text;
using Meerkat.Http;

namespace Meerkat.Diagnostics;

/// <summary>
/// Collects metrics with a <see cref="MeterListener"/> and renders them in the Prometheus text
/// exposition format (version 0.0.4), with no dependency. By default it listens to the
/// <c>Meerkat</c> Meter (<see cref="MeerkatTelemetry.MeterName"/>). Thread-safe; dispose it to stop listening.
/// </summary>
/// <example>
/// <code>
/// using var metrics = new PrometheusMetrics();
/// manager.ListenHttp("http://127.0.0.1:9464", (c, e) =>
/// {
///     if (e.Kind == EventKind.HttpMessage) metrics.Reply(c); // GET /metrics
/// });
/// </code>
/// </example>
public sealed class PrometheusMetrics : IDisposable
{
    /// <summary>The Content-Type of the text format 0.0.4.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>OpenTelemetry's default histogram bucket boundaries, for a histogram without advice.</summary>
    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener listener = new();
    private readonly Func<Instrument, bool> include;
    private readonly List<InstrumentState> instruments = [];

    /// <summary>Starts listening to the instruments <paramref name="include"/> accepts (default: those of
    /// the <c>Meerkat</c> Meter, from any <see cref="IMeterFactory"/>), now and as they are created.</summary>
    public PrometheusMetrics(Func<Instrument, bool>? include = null)
    {
        this.include = include ?? (i => i.Meter.Name == MeerkatTelemetry.MeterName);
        listener.InstrumentPublished = Publish;
        listener.MeasurementsCompleted = (instrument, state) => { if (state is InstrumentState s) Forget(s); };
        listener.SetMeasurementEventCallback<long>(static (i, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        listener.SetMeasurementEventCallback<int>(static (i, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        listener.SetMeasurementEventCallback<double>(static (i, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        listener.SetMeasurementEventCallback<float>(static (i, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        listener.Start();
    }

    /// <summary>Writes every series in the text format 0.0.4 (observable instruments are read now).</summary>
    public string Scrape()
    {
        listener.RecordObservableInstruments();
        InstrumentState[] snapshot;
        lock (instruments) snapshot = [.. instruments];
        var output = new StringBuilder(4096);
        // One family per name: instruments of several Meters (factories) with the same name merge.
        foreach (var family in snapshot.GroupBy(s => s.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = family.First();
            if (first.Description is { Length: > 0 } help) output.Append("# HELP ").Append(family.Key).Append(' ').Append(PrometheusText.Help(help)).Append('\n');
            output.Append("# TYPE ").Append(family.Key).Append(' ').Append(first.TypeName).Append('\n');
            foreach (var state in family) state.Write(output);
        }
        return output.ToString();
    }

    /// <summary>Answers the pending request of an HTTP server connection with a scrape (200,
    /// <see cref="ContentType"/>). Loop thread, as every <c>Reply</c>.</summary>
    public void Reply(Connection connection) => connection.Reply(200, Encoding.UTF8.GetBytes(Scrape()), ContentType);

    /// <summary>Stops listening.</summary>
    public void Dispose() => listener.Dispose();

    private void Publish(Instrument instrument, MeterListener l)
    {
        if (!include(instrument)) return;
        var state = InstrumentState.Create(instrument);
        if (state is null) return;
        lock (instruments) instruments.Add(state);
        l.EnableMeasurementEvents(instrument, state);
    }

    private void Forget(InstrumentState state)
    {
        lock (instruments) instruments.Remove(state);
    }

    /// <summary>One instrument's series.</summary>
    private sealed class InstrumentState
    {
        private enum Kind { Counter, Sum, LastValue, Histogram }

        private readonly Kind kind;
        private readonly double[] bounds;
        private readonly List<Series> series = [];

        private InstrumentState(Instrument instrument, Kind kind, double[] bounds)
        {
            this.kind = kind;
            this.bounds = bounds;
            Name = PrometheusText.MetricName(instrument.Name, instrument.Unit, kind == Kind.Counter);
            Description = instrument.Description;
        }

        public string Name { get; }

        public string? Description { get; }

        public string TypeName => kind switch { Kind.Counter => "counter", Kind.Histogram => "histogram", _ => "gauge" };

        public static InstrumentState? Create(Instrument instrument)
        {
            var type = instrument.GetType();
            if (!type.IsGenericType) return null;
            var definition = type.GetGenericTypeDefinition();
            Kind? kind = definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>) ? Kind.Counter
                : definition == typeof(UpDownCounter<>) ? Kind.Sum
                : definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>) ? Kind.LastValue
                : definition == typeof(Histogram<>) ? Kind.Histogram
                : null;
            if (kind is null) return null;
            // Observable counters report their running total: keep the last value, still typed counter.
            var state = new InstrumentState(instrument, kind.Value, kind == Kind.Histogram ? BoundsOf(instrument) : []);
            if (definition == typeof(ObservableCounter<>)) state.isCumulative = true;
            return state;
        }

        private bool isCumulative;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (series)
            {
                var s = Find(tags);
                switch (kind)
                {
                    case Kind.Counter when !isCumulative:
                    case Kind.Sum:
                        s.Sum += value;
                        break;
                    case Kind.Counter:
                    case Kind.LastValue:
                        s.Sum = value;
                        break;
                    case Kind.Histogram:
                        s.Sum += value;
                        s.Count++;
                        int bucket = 0;
                        while (bucket < bounds.Length && value > bounds[bucket]) bucket++;
                        s.Buckets![bucket]++;
                        break;
                }
            }
        }

        public void Write(StringBuilder output)
        {
            lock (series)
            {
                foreach (var s in series)
                {
                    if (kind != Kind.Histogram)
                    {
                        Sample(output, Name, s.Labels, null, s.Sum);
                        continue;
                    }
                    long cumulative = 0;
                    for (int i = 0; i < bounds.Length; i++)
                    {
                        cumulative += s.Buckets![i];
                        Sample(output, Name + "_bucket", s.Labels, PrometheusText.Number(bounds[i]), cumulative);
                    }
                    Sample(output, Name + "_bucket", s.Labels, "+Inf", s.Count);
                    Sample(output, Name + "_sum", s.Labels, null, s.Sum);
                    Sample(output, Name + "_count", s.Labels, null, s.Count);
                }
            }
        }

        private static void Sample(StringBuilder output, string name, KeyValuePair<string, string>[] labels, string? le, double value)
        {
            output.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                output.Append('{');
                bool first = true;
                foreach (var (key, text) in labels)
                {
                    if (!first) output.Append(',');
                    first = false;
                    output.Append(key).Append("=\"");
                    PrometheusText.AppendLabelValue(output, text);
                    output.Append('"');
                }
                if (le is not null) output.Append(first ? "" : ",").Append("le=\"").Append(le).Append('"');
                output.Append('}');
            }
            output.Append(' ').Append(PrometheusText.Number(value)).Append('\n');
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var s in series)
                if (s.Matches(tags)) return s;
            var created = new Series(tags, kind == Kind.Histogram ? new long[bounds.Length + 1] : null);
            series.Add(created);
            return created;
        }

        private static double[] BoundsOf(Instrument instrument) => instrument switch
        {
            Histogram<double> { Advice.HistogramBucketBoundaries: { } b } => [.. b],
            Histogram<long> { Advice.HistogramBucketBoundaries: { } b } => [.. b.Select(v => (double)v)],
            Histogram<int> { Advice.HistogramBucketBoundaries: { } b } => [.. b.Select(v => (double)v)],
            _ => DefaultBuckets,
        };
    }

    /// <summary>One distinct set of attributes and what was recorded with it.</summary>
    private sealed class Series
    {
        private readonly KeyValuePair<string, object?>[] tags;

        public Series(ReadOnlySpan<KeyValuePair<string, object?>> tags, long[]? buckets)
        {
            this.tags = tags.ToArray();
            Buckets = buckets;
            Labels = [.. this.tags.OrderBy(t => t.Key, StringComparer.Ordinal)
                .Select(t => new KeyValuePair<string, string>(PrometheusText.LabelName(t.Key), PrometheusText.LabelText(t.Value)))];
        }

        public KeyValuePair<string, string>[] Labels { get; }

        public long[]? Buckets { get; }

        public double Sum { get; set; }

        public long Count { get; set; }

        /// <summary>Same attributes, in any order.</summary>
        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> other)
        {
            if (other.Length != tags.Length) return false;
            for (int i = 0; i < other.Length; i++)
            {
                // Recorders usually pass attributes in the same order: try the same position first.
                if (tags[i].Key == other[i].Key && Equals(tags[i].Value, other[i].Value)) continue;
                bool found = false;
                foreach (var t in tags)
                {
                    if (t.Key != other[i].Key) continue;
                    found = Equals(t.Value, other[i].Value);
                    break;
                }
                if (!found) return false;
            }
            return true;
        }
    }
}
