using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Meerkat.Tests.Diagnostics;

/// <summary>An <see cref="IMeterFactory"/> of the test's own, so that its MeterListener sees only the
/// managers it configured (tests run in parallel and the shared Meter is process-wide).</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (meters) meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        lock (meters) foreach (var meter in meters) meter.Dispose();
    }
}

/// <summary>One measurement as recorded: instrument, value and attributes.</summary>
internal sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
{
    public object? this[string tag] => Tags.TryGetValue(tag, out var value) ? value : null;

    public bool Has(string tag) => Tags.ContainsKey(tag);
}

/// <summary>Records every measurement of the Meerkat meter created by one factory.</summary>
internal sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentQueue<Measurement> measurements = new();

    public MetricsCollector(TestMeterFactory factory)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Meerkat" && instrument.Meter.Scope == factory) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        listener.Start();
    }

    public IReadOnlyList<Measurement> All => [.. measurements];

    public IReadOnlyList<Measurement> Of(string instrument) => [.. measurements.Where(m => m.Instrument == instrument)];

    public double Sum(string instrument, Func<Measurement, bool>? where = null) => Of(instrument).Where(where ?? (_ => true)).Sum(m => m.Value);

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var (key, v) in tags) copy[key] = v;
        measurements.Enqueue(new Measurement(instrument.Name, value, copy));
    }

    public void Dispose() => listener.Dispose();
}
