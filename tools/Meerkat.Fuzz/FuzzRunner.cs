// How this file works: runs a target over generated inputs (seeds from the conformance corpus,
// random, mutated, spliced; see FuzzInputs) and counts what it checked. A target throws
// FuzzFailure when an invariant breaks; the runner records the first few with the seed and the
// input, so any failure replays with `--seed`.
using System.Diagnostics;

namespace Meerkat.Fuzz;

/// <summary>One protocol core under fuzzing.</summary>
public interface IFuzzTarget
{
    /// <summary>A short name for the summary line.</summary>
    string Name { get; }

    /// <summary>Checks every invariant on one input; throws <see cref="FuzzFailure"/> when one breaks.</summary>
    void Check(byte[] input, Random random);

    /// <summary>Makes the next input.</summary>
    byte[] NextInput(Random random);
}

/// <summary>An invariant broke.</summary>
public sealed class FuzzFailure(string message) : Exception(message);

/// <summary>What a run did.</summary>
public sealed record FuzzResult(string Target, long Iterations, long Seed, long Failures, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"fuzz {Target}: {Iterations} inputs, seed {Seed}, {Failures} failures, {Elapsed.TotalSeconds:0.0} s ({Iterations / Math.Max(Elapsed.TotalSeconds, 0.001):0} inputs/s)";
}

public static class FuzzRunner
{
    public static FuzzResult Run(IFuzzTarget target, long iterations, long seed, TextWriter? report = null, TimeSpan? budget = null)
    {
        var clock = Stopwatch.StartNew();
        long failures = 0, done = 0;
        for (; done < iterations && (budget is null || clock.Elapsed < budget); done++)
        {
            // One Random per input, seeded from the run's seed and the input's number: each replays alone.
            var random = new Random(HashCode.Combine(seed, done));
            byte[] input = target.NextInput(random);
            try
            {
                target.Check(input, random);
            }
            catch (Exception ex)
            {
                if (++failures <= 5 && report is not null)
                    report.WriteLine($"FAIL input #{done} (seed {seed}): {ex.GetType().Name}: {ex.Message}\n  input: {Escape(input)}");
            }
        }
        return new FuzzResult(target.Name, done, seed, failures, clock.Elapsed);
    }

    public static string Escape(byte[] input) =>
        string.Concat(input.Take(600).Select(b => b is >= 0x20 and < 0x7f and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:x2}"));
}
