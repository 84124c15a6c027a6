using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Diagnostics;

/// <summary>The Prometheus text format 0.0.4, parsed back line by line: every line is a comment
/// (HELP, TYPE) or a sample whose name, labels and value follow the grammar; escaped label values
/// read back as recorded; histograms are cumulative and end at +Inf with their count.</summary>
public sealed partial class PrometheusMetricsTests
{
    /// <summary>One sample line read back: name, unescaped labels, value.</summary>
    private sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

    [GeneratedRegex(@"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$")]
    private static partial Regex Comment();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"\G([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\\n]|\\[\\""n])*)""(,|$)")]
    private static partial Regex Label();

    /// <summary>Parses the whole text; fails on any line outside the grammar.</summary>
    private static (List<Sample> Samples, Dictionary<string, string> Types, Dictionary<string, string> Help) Parse(string text)
    {
        Assert.EndsWith("\n", text);
        var samples = new List<Sample>();
        var types = new Dictionary<string, string>();
        var help = new Dictionary<string, string>();
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                var comment = Comment().Match(line);
                Assert.True(comment.Success, $"bad comment line: {line}");
                if (comment.Groups[1].Value == "TYPE")
                {
                    Assert.Contains(comment.Groups[3].Value, new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    Assert.True(types.TryAdd(comment.Groups[2].Value, comment.Groups[3].Value), $"TYPE given twice for {comment.Groups[2].Value}");
                }
                else help[comment.Groups[2].Value] = comment.Groups[3].Value;
                continue;
            }
            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"bad sample line: {line}");
            var labels = new Dictionary<string, string>();
            string body = sample.Groups[3].Value;
            int at = 0;
            while (at < body.Length)
            {
                var label = Label().Match(body, at);
                Assert.True(label.Success, $"bad labels at {at}: {line}");
                labels.Add(label.Groups[1].Value, Unescape(label.Groups[2].Value));
                at += label.Length;
            }
            string value = sample.Groups[4].Value;
            double number = value switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, "NaN" => double.NaN, _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture) };
            samples.Add(new Sample(sample.Groups[1].Value, labels, number));
        }
        return (samples, types, help);
    }

    private static string Unescape(string value)
    {
        var text = new StringBuilder();
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] != '\\') { text.Append(value[i]); continue; }
            text.Append(value[++i] switch { 'n' => '\n', var c => c });
        }
        return text.ToString();
    }

    [Fact]
    public void Counters_gauges_and_escaped_label_values_read_back_as_recorded()
    {
        using var meter = new Meter("Meerkat.Tests.Prometheus." + Guid.NewGuid().ToString("N"));
        using var prometheus = new PrometheusMetrics(i => i.Meter == meter);
        var counter = meter.CreateCounter<long>("test.requests", "{request}", "Requests.\nWith a second line and a \\ backslash.");
        var bytes = meter.CreateCounter<double>("test.io", "By");
        var level = meter.CreateUpDownCounter<int>("test.level");
        int observed = 41;
        meter.CreateObservableGauge("test.temperature", () => ++observed, "Cel");
        string tricky = "a \"quoted\" \\path\\ and a\nnew line";
        counter.Add(2, new KeyValuePair<string, object?>("route", tricky), new KeyValuePair<string, object?>("http.request.method", "GET"));
        counter.Add(3, new KeyValuePair<string, object?>("http.request.method", "GET"), new KeyValuePair<string, object?>("route", tricky));
        counter.Add(1, new KeyValuePair<string, object?>("route", "/plain"), new KeyValuePair<string, object?>("http.request.method", "GET"));
        bytes.Add(0.5);
        level.Add(5);
        level.Add(-7);

        var (samples, types, help) = Parse(prometheus.Scrape());
        Assert.Equal("counter", types["test_requests_total"]);
        Assert.Equal("Requests.\\nWith a second line and a \\\\ backslash.", help["test_requests_total"]);
        var byRoute = samples.Where(s => s.Name == "test_requests_total").ToDictionary(s => s.Labels["route"]);
        Assert.Equal(2, byRoute.Count);
        Assert.Equal(5, byRoute[tricky].Value); // the same attributes in another order are the same series
        Assert.Equal("GET", byRoute[tricky].Labels["http_request_method"]);
        Assert.Equal(1, byRoute["/plain"].Value);
        Assert.Equal("counter", types["test_io_bytes_total"]);
        Assert.Equal(0.5, Assert.Single(samples, s => s.Name == "test_io_bytes_total").Value);
        Assert.Equal("gauge", types["test_level"]);
        Assert.Equal(-2, Assert.Single(samples, s => s.Name == "test_level").Value);
        Assert.Equal("gauge", types["test_temperature_Cel"]);
        Assert.Equal(42, Assert.Single(samples, s => s.Name == "test_temperature_Cel").Value);
        Assert.Equal(43, Assert.Single(Parse(prometheus.Scrape()).Samples, s => s.Name == "test_temperature_Cel").Value); // read at each scrape
    }

    [Fact]
    public void A_histogram_has_cumulative_buckets_ending_at_inf_with_its_count_and_sum()
    {
        using var meter = new Meter("Meerkat.Tests.Prometheus." + Guid.NewGuid().ToString("N"));
        using var prometheus = new PrometheusMetrics(i => i.Meter == meter);
        var histogram = meter.CreateHistogram("test.duration", "s", null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1, 10] });
        foreach (var value in new[] { 0.05, 0.1, 0.5, 2, 20, 30 }) histogram.Record(value);

        var (samples, types, _) = Parse(prometheus.Scrape());
        Assert.Equal("histogram", types["test_duration_seconds"]);
        var buckets = samples.Where(s => s.Name == "test_duration_seconds_bucket").ToDictionary(s => s.Labels["le"], s => s.Value);
        Assert.Equal(new Dictionary<string, double> { ["0.1"] = 2, ["1"] = 3, ["10"] = 4, ["+Inf"] = 6 }, buckets); // le is inclusive
        Assert.Equal(6, Assert.Single(samples, s => s.Name == "test_duration_seconds_count").Value);
        Assert.Equal(52.65, Assert.Single(samples, s => s.Name == "test_duration_seconds_sum").Value, 9);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_server_scrape_counts_its_own_requests(PollerBackend backend)
    {
        using var factory = new TestMeterFactory();
        using var prometheus = new PrometheusMetrics(i => i.Meter.Name == MeerkatTelemetry.MeterName && i.Meter.Scope == factory);
        using var manager = Loop.Create(backend, o => o.MeterFactory = factory);
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage && e.Request!.PathIs("/metrics"u8)) prometheus.Reply(c);
            else if (e.Kind == EventKind.HttpMessage) c.Reply(200, "ok"u8);
            else if (e.Kind == EventKind.HttpDone) done++;
        });
        string url = $"http://127.0.0.1:{listener.LocalEndPoint!.Port}";
        var peer = Task.Run(async () =>
        {
            using var client = new System.Net.Http.HttpClient();
            for (int i = 0; i < 7; i++) await client.GetStringAsync($"{url}/x");
            var response = await client.GetAsync($"{url}/metrics");
            return (response.Content.Headers.ContentType!.ToString(), await response.Content.ReadAsStringAsync());
        });
        var (contentType, text) = manager.Until(peer);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", contentType);

        var (samples, types, _) = Parse(text);
        Assert.Equal("histogram", types["http_server_request_duration_seconds"]);
        var count = Assert.Single(samples, s => s.Name == "http_server_request_duration_seconds_count");
        Assert.Equal(7, count.Value); // the scrape's own request has not ended yet
        Assert.Equal("200", count.Labels["http_response_status_code"]);
        Assert.Equal("GET", count.Labels["http_request_method"]);
        var buckets = samples.Where(s => s.Name == "http_server_request_duration_seconds_bucket").Select(s => s.Value).ToList();
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(7, buckets[^1]);
        Assert.Equal("gauge", types["http_server_active_requests"]);
        Assert.Equal(1, Assert.Single(samples, s => s.Name == "http_server_active_requests").Value); // the scrape itself
        Assert.Equal("counter", types["meerkat_opened_connections_total"]);
        Assert.Equal("counter", types["meerkat_network_io_bytes_total"]);
        Assert.True(samples.Single(s => s.Name == "meerkat_network_io_bytes_total" && s.Labels["network_io_direction"] == "receive").Value > 0);
    }
}
