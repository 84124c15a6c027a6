using System.Diagnostics;
using Meerkat.Chaos;

namespace Meerkat.Tests.Testing;

/// <summary>The same seed gives the same trace; the chaos scenario keeps every invariant for a few seconds of seeds.</summary>
public sealed class DeterminismAndChaosTests
{
    [Fact]
    public void TheSameSeedGivesTheSameTraceByteForByte()
    {
        var first = ChaosScenario.Run(7, keepTrace: true);
        var second = ChaosScenario.Run(7, keepTrace: true);
        Assert.True(first.Trace.Count > 50, "the scenario did something");
        Assert.Equal(first.Trace, second.Trace);
        Assert.Equal(first.Digest, second.Digest);
        Assert.NotEqual(first.Digest, ChaosScenario.Run(8).Digest);
    }

    /// <summary>With TLS too: resumption is off on the virtual network (no session cached by an earlier
    /// run), and the scenario's RSA certificate makes every handshake message the same size.</summary>
    [Fact]
    public void TheSameSeedGivesTheSameTraceOverTls()
    {
        var first = ChaosScenario.Run(42, keepTrace: true, tls: true);
        var second = ChaosScenario.Run(42, keepTrace: true, tls: true);
        Assert.Contains(first.Trace, line => line.EndsWith(" TlsHandshake ", StringComparison.Ordinal));
        Assert.Empty(first.Failures);
        Assert.Equal(first.Trace, second.Trace);
        Assert.Equal(first.Digest, second.Digest);
    }

    [Fact]
    public void ChaosSeedsKeepEveryInvariant()
    {
        // Bounded to a few seconds: the long run is `dotnet run -c Release --project tools/Meerkat.Chaos -- --seeds N`.
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        int seeds = 0;
        for (int seed = 1; seed <= 500 && (seeds < 3 || clock.Elapsed < TimeSpan.FromSeconds(4)); seed++, seeds++)
        {
            var result = ChaosScenario.Run(seed);
            foreach (var failure in result.Failures) failures.Add($"seed {seed}: {failure}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} failures in {seeds} seeds (replay: dotnet run --project tools/Meerkat.Chaos -- --seed S --trace):\n{string.Join('\n', failures)}");
    }
}
