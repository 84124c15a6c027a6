using Meerkat.Fuzz.Targets;

namespace Meerkat.Tests.Http.Client;

/// <summary>A bounded run of the client core's fuzz target (tools/Meerkat.Fuzz runs it for millions of
/// inputs): random, mutated and spliced responses seeded from the conformance corpus, fed whole, at
/// random cuts and byte by byte. No exception, no hang, every Head ended by exactly one Done, the
/// same events wherever the input is cut, and an error or a close after the end of stream.</summary>
public sealed class ClientCoreFuzzTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(20251205)]
    public void Generated_responses_keep_every_invariant(int seed)
    {
        var corpus = ConformanceCorpus.RequireCases().Where(c => !c.IsRequest).Select(c => c.Raw);
        var result = ClientTarget.Run(ClientTarget.Seeds(corpus), count: 2_000, seed, budget: TimeSpan.FromSeconds(8));
        Assert.True(result.Failure is null,
            $"after {result.Inputs} inputs: {result.Failure}\ninput: {Convert.ToBase64String(result.FailingInput ?? [])}\n{System.Text.Encoding.Latin1.GetString(result.FailingInput ?? [])}");
        Assert.True(result.Inputs >= 200, $"only {result.Inputs} inputs ran");
        Assert.True(result.Errors > 0 && result.Completed > 0, $"the inputs should reach both errors and completed transactions ({result.Errors}, {result.Completed})");
    }
}
