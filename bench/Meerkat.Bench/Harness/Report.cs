using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Meerkat.Bench.Harness;

/// <summary>Prints the machine description and result tables (Markdown, ready for bench/README.md).</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                ?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        Console.WriteLine($"date:    {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical CPUs, {cpu}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC"
#if DEBUG
            + "  ** DEBUG BUILD: numbers are meaningless, use -c Release **"
#endif
        );
        try { Console.WriteLine($"load:    {File.ReadAllText("/proc/loadavg").Trim()} (/proc/loadavg at start: other work on the machine skews results)"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        Console.WriteLine();
    }

    public static void Table(IReadOnlyList<LoadResult> results, string extraHeader, Func<LoadResult, string> extra)
    {
        Console.WriteLine($"| server | connections | {extraHeader} | round trips/s | server alloc B/rt | load alloc B/rt | gen0 GCs | errors |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(Invariant,
                $"| {r.Name} | {r.Settings.Connections} | {extra(r)} | {r.RoundTripsPerSecond:N0} | {r.ServerBytesPerRoundTrip:F1} | {r.LoadBytesPerRoundTrip:F1} | {r.Gen0Collections} | {r.Errors} |"));
        }
        foreach (var r in results.Where(r => r.FirstError is not null))
            Console.WriteLine($"first error of {r.Name}: {r.FirstError}");
        Console.WriteLine();
    }

    /// <summary>Median round trips/s of each named server over all rounds.</summary>
    public static double Median(IEnumerable<LoadResult> results, string name)
    {
        var values = results.Where(r => r.Name == name).Select(r => r.RoundTripsPerSecond).Order().ToArray();
        if (values.Length == 0) return double.NaN;
        return values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
    }

    public static string Number(double value, string format = "N0") => value.ToString(format, Invariant);
}
