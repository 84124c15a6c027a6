using System.Globalization;

namespace Meerkat.Bench.Harness;

/// <summary><c>--name value</c> options of a benchmark subcommand, read with defaults and bounds.</summary>
public sealed class BenchArgs
{
    private readonly Dictionary<string, string> values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> used = new(StringComparer.OrdinalIgnoreCase);

    public BenchArgs(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
                throw new ArgumentException($"expected '--name value', got '{args[i]}'");
            values[args[i][2..]] = args[++i];
        }
    }

    public int Int(string name, int defaultValue, int min, int max)
    {
        used.Add(name);
        if (!values.TryGetValue(name, out var text)) return defaultValue;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new ArgumentException($"--{name} must be an integer in [{min}, {max}], got '{text}'");
        return value;
    }

    public double Double(string name, double defaultValue, double min, double max)
    {
        used.Add(name);
        if (!values.TryGetValue(name, out var text)) return defaultValue;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < min || value > max)
            throw new ArgumentException($"--{name} must be a number in [{min}, {max}], got '{text}'");
        return value;
    }

    public string Choice(string name, string defaultValue, params string[] allowed)
    {
        used.Add(name);
        if (!values.TryGetValue(name, out var text)) return defaultValue;
        return allowed.FirstOrDefault(a => a.Equals(text, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"--{name} must be one of {string.Join('|', allowed)}, got '{text}'");
    }

    public string Text(string name, string defaultValue)
    {
        used.Add(name);
        return values.TryGetValue(name, out var text) ? text : defaultValue;
    }

    /// <summary>Throws for options nobody read (typos); call after reading every option.</summary>
    public void RejectUnknown()
    {
        foreach (var name in values.Keys)
            if (!used.Contains(name)) throw new ArgumentException($"unknown option --{name}");
    }

    /// <summary>The options every load-driven benchmark shares.</summary>
    public LoadSettings Load() => new(
        Connections: Int("connections", 64, 1, 1024),
        Warmup: TimeSpan.FromSeconds(Double("warmup", 2, 0, 60)),
        Duration: TimeSpan.FromSeconds(Double("seconds", 5, 0.1, 120)));
}

/// <summary>Shape of a closed-loop run: how many client connections, how long to warm up and measure.</summary>
public sealed record LoadSettings(int Connections, TimeSpan Warmup, TimeSpan Duration);
