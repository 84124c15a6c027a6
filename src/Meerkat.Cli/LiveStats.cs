// How this file works: the figures of the demo's live dashboard, measured from the loop through the
// Meerkat Meter (a MeterListener, process-wide: every loop of the demo adds to them). Counters are
// summed as they arrive on the loop threads; request durations and loop lags are sampled (a bounded
// reservoir per interval) for their percentiles. Refresh turns what arrived since the last one into
// a snapshot per second (rates, percentiles, gauges) and keeps the last two minutes of them.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Meerkat.Diagnostics;

namespace Meerkat.Cli;

/// <summary>One second of the dashboard.</summary>
internal readonly record struct LiveSnapshot(long UnixMs, long Accepted, long Outbound, long Listeners, long ActiveRequests,
    double RequestsPerSecond, long Requests, double ReceivedPerSecond, double SentPerSecond, double P50Ms, double P99Ms,
    double ErrorsPerSecond, long Errors, double LagP99Ms, double LagMaxMs);

/// <summary>Live figures for the dashboard. Thread-safe.</summary>
internal sealed class LiveStats : IDisposable
{
    private const int HistoryLength = 120;

    private readonly MeterListener listener = new();
    private readonly Lock gate = new();
    private readonly Reservoir latency = new(8192);
    private readonly Reservoir lag = new(4096);
    private readonly Queue<LiveSnapshot> history = new();
    private long accepted, outbound, listeners, activeRequests, requests, errors;
    private double received, sent;
    private long lastRequests, lastErrors;
    private double lastReceived, lastSent;
    private long lastRefresh = Stopwatch.GetTimestamp();

    public LiveStats()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MeerkatTelemetry.MeterName && instrument.Meter.Scope is null) l.EnableMeasurementEvents(instrument, this);
        };
        listener.SetMeasurementEventCallback<long>(static (i, value, tags, state) => ((LiveStats)state!).OnLong(i.Name, value, tags));
        listener.SetMeasurementEventCallback<double>(static (i, value, tags, state) => ((LiveStats)state!).OnDouble(i.Name, value));
        listener.Start();
    }

    /// <summary>The latest snapshot (empty figures until the first second has passed).</summary>
    public LiveSnapshot Current { get; private set; }

    /// <summary>Makes a new snapshot when a second has passed since the last one; returns the current one.</summary>
    public LiveSnapshot Refresh()
    {
        lock (gate)
        {
            long now = Stopwatch.GetTimestamp();
            double seconds = (now - lastRefresh) / (double)Stopwatch.Frequency;
            if (seconds < 0.95 && history.Count > 0) return Current;
            lastRefresh = now;
            var (p50, p99, _) = latency.TakePercentiles();
            var (_, lagP99, lagMax) = lag.TakePercentiles();
            long r = Interlocked.Read(ref requests), e = Interlocked.Read(ref errors);
            double inBytes = Volatile.Read(ref received), outBytes = Volatile.Read(ref sent);
            Current = new LiveSnapshot(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                Interlocked.Read(ref accepted), Interlocked.Read(ref outbound), Interlocked.Read(ref listeners), Interlocked.Read(ref activeRequests),
                (r - lastRequests) / seconds, r, (inBytes - lastReceived) / seconds, (outBytes - lastSent) / seconds,
                p50 * 1000, p99 * 1000, (e - lastErrors) / seconds, e, lagP99 * 1000, lagMax * 1000);
            (lastRequests, lastErrors, lastReceived, lastSent) = (r, e, inBytes, outBytes);
            history.Enqueue(Current);
            if (history.Count > HistoryLength) history.Dequeue();
            return Current;
        }
    }

    /// <summary>The snapshot as JSON, for a Server-Sent Event.</summary>
    public static string Json(LiveSnapshot s)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer)) Write(json, s);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The last two minutes, oldest first, as a JSON array.</summary>
    public string HistoryJson()
    {
        LiveSnapshot[] snapshots;
        lock (gate) snapshots = [.. history];
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var s in snapshots) Write(json, s);
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public void Dispose() => listener.Dispose();

    private static void Write(Utf8JsonWriter json, LiveSnapshot s)
    {
        json.WriteStartObject();
        json.WriteNumber("t", s.UnixMs);
        json.WriteNumber("accepted", s.Accepted);
        json.WriteNumber("outbound", s.Outbound);
        json.WriteNumber("listeners", s.Listeners);
        json.WriteNumber("activeRequests", s.ActiveRequests);
        json.WriteNumber("rps", Math.Round(s.RequestsPerSecond, 1));
        json.WriteNumber("requests", s.Requests);
        json.WriteNumber("inBps", Math.Round(s.ReceivedPerSecond));
        json.WriteNumber("outBps", Math.Round(s.SentPerSecond));
        json.WriteNumber("p50", Math.Round(s.P50Ms, 3));
        json.WriteNumber("p99", Math.Round(s.P99Ms, 3));
        json.WriteNumber("eps", Math.Round(s.ErrorsPerSecond, 1));
        json.WriteNumber("errors", s.Errors);
        json.WriteNumber("lagP99", Math.Round(s.LagP99Ms, 3));
        json.WriteNumber("lagMax", Math.Round(s.LagMaxMs, 3));
        json.WriteEndObject();
    }

    private void OnLong(string instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (instrument)
        {
            case "meerkat.active_connections":
                switch (Tag(tags, "meerkat.connection.role"))
                {
                    case "accepted": Interlocked.Add(ref accepted, value); break;
                    case "outbound": Interlocked.Add(ref outbound, value); break;
                    case "listener": Interlocked.Add(ref listeners, value); break;
                }
                break;
            case "http.server.active_requests":
                Interlocked.Add(ref activeRequests, value);
                break;
            case "meerkat.network.io":
                if (Tag(tags, "network.io.direction") is "receive") Add(ref received, value);
                else Add(ref sent, value);
                break;
            case "meerkat.errors":
                Interlocked.Add(ref errors, value);
                break;
        }
    }

    private void OnDouble(string instrument, double value)
    {
        switch (instrument)
        {
            case "http.server.request.duration":
                Interlocked.Increment(ref requests);
                latency.Add(value);
                break;
            case "meerkat.loop.lag":
                lag.Add(value);
                break;
        }
    }

    private static object? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var (k, v) in tags)
            if (k == key) return v;
        return null;
    }

    private static void Add(ref double total, double value)
    {
        double seen, next;
        do
        {
            seen = Volatile.Read(ref total);
            next = seen + value;
        }
        while (Interlocked.CompareExchange(ref total, next, seen) != seen);
    }

    /// <summary>A bounded uniform sample of the values of one interval (Vitter's algorithm R).</summary>
    private sealed class Reservoir(int capacity)
    {
        private readonly double[] values = new double[capacity];
        private readonly Lock gate = new();
        private long seen;

        public void Add(double value)
        {
            lock (gate)
            {
                long n = seen++;
                if (n < values.Length) values[n] = value;
                else if (Random.Shared.NextInt64(n + 1) is var slot && slot < values.Length) values[slot] = value;
            }
        }

        /// <summary>p50, p99 and the largest of the interval, then a new interval begins.</summary>
        public (double P50, double P99, double Max) TakePercentiles()
        {
            double[] sample;
            lock (gate)
            {
                sample = values.AsSpan(0, (int)Math.Min(seen, values.Length)).ToArray();
                seen = 0;
            }
            if (sample.Length == 0) return (0, 0, 0);
            Array.Sort(sample);
            return (At(sample, 0.50), At(sample, 0.99), sample[^1]);
        }

        private static double At(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
    }
}
