// The bounded fuzzing run in the suite: the server core's target from tools/Meerkat.Fuzz for a few
// seconds with a fixed seed (the long run is `dotnet run --project tools/Meerkat.Fuzz`), plus the
// regressions it found, each at every split.
using Meerkat.Fuzz;

namespace Meerkat.Tests.Http.Server;

public class FuzzTests
{
    [Fact]
    public void The_server_core_holds_its_invariants_on_generated_input()
    {
        var corpus = FuzzCorpus.Load();
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.NotNull(corpus.Path); // seeds from the conformance corpus under CI
        var report = new StringWriter();
        var result = FuzzRunner.Run(new ServerTarget(corpus), iterations: 1_000_000, seed: 7, report, budget: TimeSpan.FromSeconds(3));
        Assert.True(result.Failures == 0, report.ToString());
        Assert.True(result.Iterations >= 1_000, $"only {result.Iterations} inputs ran");
    }

    [Theory]
    [InlineData("GET /\xa0HTUP/1.1\r:\nfHost: x\r\n\r\n")]                  // a bad target byte before a bad line ending
    [InlineData("GET /ws HTTP/2.0HTTP/1.1\r\nHost: x\r\n\r\n")]              // major 2 is unsupported as soon as it arrives, whatever follows
    [InlineData("\r\n\r\nHEAD \r\n\xafOPTIONS * \r\n\r\n")]                  // HEAD after blank lines: its error has no body
    [InlineData("\nHEAD / HTTP/1.1\r\n\r\n")]                                // a bare LF before HEAD: not a HEAD request
    [InlineData("GET /" + "aaaaaaaaaa\x01" + " HTTP/1.1\r\nHost: x\r\n\r\n")]
    public void Regressions_found_by_fuzzing_answer_the_same_at_every_split(string request)
    {
        string t = ServerCoreHarness.SameAtEverySplit(() => new ServerCoreHarness(), request);
        Assert.Matches("HTTP/1.1 (400|505) ", t);
        Assert.EndsWith("MustClose", t, StringComparison.Ordinal);
    }
}
