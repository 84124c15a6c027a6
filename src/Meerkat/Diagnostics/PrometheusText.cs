// How this file works: the Prometheus text exposition format, version 0.0.4: metric and label names
// made legal ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':'), OpenTelemetry units turned into name
// suffixes (s -> _seconds, By -> _bytes; {annotations} dropped) as OpenTelemetry's Prometheus
// exporters do, counters ending in _total, and the escaping rules: in label values a backslash,
// a double quote and a line feed become \\, \" and \n; in HELP text a backslash and a line feed.
using System.Globalization;
using System.Text;

namespace Meerkat.Diagnostics;

/// <summary>Names, escaping and numbers of the Prometheus text format 0.0.4.</summary>
internal static class PrometheusText
{
    /// <summary>A metric name from an instrument's name and unit (<c>http.server.request.duration</c>, <c>s</c>
    /// -> <c>http_server_request_duration_seconds</c>), with <c>_total</c> for counters.</summary>
    public static string MetricName(string instrument, string? unit, bool isCounter)
    {
        var name = new StringBuilder(Sanitize(instrument, allowColon: true));
        string suffix = UnitSuffix(unit);
        if (suffix.Length > 0 && !name.ToString().EndsWith("_" + suffix, StringComparison.Ordinal)) name.Append('_').Append(suffix);
        if (isCounter) name.Append("_total");
        return name.ToString();
    }

    /// <summary>A legal label name (<c>http.request.method</c> -> <c>http_request_method</c>).</summary>
    public static string LabelName(string key)
    {
        string name = Sanitize(key, allowColon: false);
        return name.StartsWith("__", StringComparison.Ordinal) ? "_" + name.TrimStart('_') : name; // "__" is reserved
    }

    /// <summary>Appends a label value with backslash, double quote and line feed escaped.</summary>
    public static void AppendLabelValue(StringBuilder output, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': output.Append(@"\\"); break;
                case '"': output.Append("\\\""); break;
                case '\n': output.Append(@"\n"); break;
                default: output.Append(c); break;
            }
        }
    }

    /// <summary>HELP text with backslash and line feed escaped.</summary>
    public static string Help(string text) => text.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);

    /// <summary>A sample value: the shortest text that reads back the same, or <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A label value's text (attribute values are strings, numbers or booleans).</summary>
    public static string LabelText(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string UnitSuffix(string? unit) => unit switch
    {
        null or "" or "1" => "",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "%" => "percent",
        _ when unit.StartsWith('{') => "",
        _ => Sanitize(unit, allowColon: false),
    };

    private static string Sanitize(string text, bool allowColon)
    {
        var name = new StringBuilder(text.Length + 1);
        foreach (char c in text)
        {
            bool legal = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' || allowColon && c == ':';
            name.Append(legal ? c : '_');
        }
        if (name.Length == 0 || char.IsAsciiDigit(name[0])) name.Insert(0, '_');
        return name.ToString();
    }
}
