// The long chaos run: `dotnet run -c Release --project tools/Meerkat.Chaos -- --seeds N [--seed S] [--trace] [--tls]`.
// Runs seeds S, S+1, ... S+N-1 of ChaosScenario, prints one line per failing seed, ends with
// `chaos: N seeds, F failures` and exits 1 when any failed. `--seed S --trace` replays one seed,
// prints its trace and ends with `trace: SHA256` (the same digest on every run). `--tls`: the HTTP
// clients talk HTTPS.
using System.Diagnostics;
using System.Globalization;

namespace Meerkat.Chaos;

public static class Program
{
    public static int Main(string[] args)
    {
        int seeds = 1, first = 1;
        bool trace = false, seedGiven = false, tls = false;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--seeds" when int.TryParse(value, CultureInfo.InvariantCulture, out seeds) && seeds > 0: i++; break;
                case "--seed" when int.TryParse(value, CultureInfo.InvariantCulture, out first): seedGiven = true; i++; break;
                case "--trace": trace = true; break;
                case "--tls": tls = true; break;
                default:
                    Console.Error.WriteLine($"unknown or malformed argument '{args[i]}'. Usage: meerkat-chaos --seeds N [--seed S] [--trace] [--tls]");
                    return 2;
            }
        }
        if (trace && !seedGiven)
        {
            Console.Error.WriteLine("--trace replays one seed: give it with --seed S");
            return 2;
        }
        if (trace) return Replay(first, tls);
        int failures = 0;
        long events = 0;
        var clock = Stopwatch.StartNew();
        for (int seed = first; seed < first + seeds; seed++)
        {
            var result = ChaosScenario.Run(seed, tls: tls);
            events += result.Events;
            if (result.Failures.Count == 0) continue;
            failures++;
            Console.WriteLine($"seed {seed}: {string.Join(" | ", result.Failures)}");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{seconds:0.0} s: {seeds / seconds:0} seeds/s, {events / seconds:0} events/s ({events} events)"));
        Console.WriteLine($"chaos: {seeds} seeds, {failures} failures");
        return failures == 0 ? 0 : 1;
    }

    private static int Replay(int seed, bool tls)
    {
        var result = ChaosScenario.Run(seed, keepTrace: true, tls: tls);
        foreach (var line in result.Trace) Console.WriteLine(line);
        foreach (var failure in result.Failures) Console.WriteLine($"seed {seed}: {failure}");
        Console.WriteLine($"trace: {result.Digest}");
        return result.Failures.Count == 0 ? 0 : 1;
    }
}
