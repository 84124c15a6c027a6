// How this file works: `dotnet run --project tools/Meerkat.Fuzz -c Release -- TARGET [COUNT] [SECONDS] [SEED]`
// runs one fuzz target (one file per target under Targets/) for COUNT inputs or SECONDS, whichever
// comes first, in rounds of 100,000 with a new seed each, and prints the figures. The conformance
// corpus (../shared/conformance/http1-parser-cases.json beside the repository, or
// MEERKAT_CONFORMANCE_DIR) seeds the inputs. Exit code 0: no invariant broken; 1: one was (the
// input is printed in base64); 2: bad arguments.
using System.Diagnostics;
using System.Text.Json;
using Meerkat.Fuzz.Targets;

if (args.Length == 0 || args[0] != "client")
{
    Console.Error.WriteLine("usage: Meerkat.Fuzz client [COUNT] [SECONDS] [SEED]");
    return 2;
}
long count = args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
double seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 600;
int seed = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount;

var seeds = ClientTarget.Seeds(Corpus.Responses());
Console.WriteLine($"client: {seeds.Count} seeds, up to {count:N0} inputs or {seconds} s, seed {seed}");
var clock = Stopwatch.StartNew();
long inputs = 0, errors = 0, completed = 0;
for (int round = 0; inputs < count && clock.Elapsed.TotalSeconds < seconds; round++)
{
    var left = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
    var result = ClientTarget.Run(seeds, Math.Min(100_000, count - inputs), seed + round, left);
    inputs += result.Inputs;
    errors += result.Errors;
    completed += result.Completed;
    if (result.Failure is not null)
    {
        Console.WriteLine($"FAILED after {inputs:N0} inputs (round seed {seed + round}): {result.Failure}");
        Console.WriteLine($"input (base64): {Convert.ToBase64String(result.FailingInput ?? [])}");
        return 1;
    }
    Console.WriteLine($"{inputs:N0} inputs, {clock.Elapsed.TotalSeconds:0} s: {errors:N0} ended in an error, {completed:N0} transactions completed");
}
Console.WriteLine($"client: {inputs:N0} inputs in {clock.Elapsed.TotalSeconds:0.#} s ({inputs / Math.Max(clock.Elapsed.TotalSeconds, 0.001):N0}/s), no invariant broken");
return 0;

/// <summary>The response cases of the conformance corpus.</summary>
internal static class Corpus
{
    public static IEnumerable<byte[]> Responses()
    {
        string? path = Find();
        if (path is null)
        {
            Console.Error.WriteLine("warning: conformance corpus not found; built-in seeds only");
            yield break;
        }
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            if (c.GetProperty("kind").GetString() == "response" && c.TryGetProperty("raw_b64", out var raw) && raw.ValueKind == JsonValueKind.String)
                yield return Convert.FromBase64String(raw.GetString()!);
    }

    private static string? Find()
    {
        const string Name = "http1-parser-cases.json";
        if (Environment.GetEnvironmentVariable("MEERKAT_CONFORMANCE_DIR") is { Length: > 0 } dir && File.Exists(Path.Combine(dir, Name))) return Path.Combine(dir, Name);
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Meerkat.slnx")))
            {
                string path = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "conformance", Name));
                return File.Exists(path) ? path : null;
            }
        return null;
    }
}
