using Meerkat.Fuzz;

namespace Meerkat.Tests.Http.Client;

/// <summary>A bounded run of the client core's fuzz target (tools/Meerkat.Fuzz runs it for millions of
/// inputs): random, mutated and spliced responses seeded from the conformance corpus, fed whole, at
/// random cuts and byte by byte. No exception, no hang, every Head ended by exactly one Done, the
/// same events wherever the input is cut, and an error or a close after the end of stream.</summary>
public sealed class ClientCoreFuzzTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(20251205)]
    public void The_client_core_holds_its_invariants_on_generated_responses(long seed)
    {
        var corpus = FuzzCorpus.Load(ConformanceCorpus.FindFile());
        if (corpus.Responses.Count == 0) ConformanceCorpus.RequireCases(); // skips locally, fails under CI
        var report = new StringWriter();
        var result = FuzzRunner.Run(new ClientTarget(corpus), iterations: 1_000_000, seed, report, budget: TimeSpan.FromSeconds(4));
        Assert.True(result.Failures == 0, report.ToString());
        Assert.True(result.Iterations >= 500, $"only {result.Iterations} inputs ran");
    }
}
