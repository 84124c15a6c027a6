// Runs every strict conformance case (llhttp + http-parser, see Http/Conformance/README.md)
// whole, byte by byte, and split in two at every position. Deviations are listed with reasons in
// ConformanceCorpus.Deviations and docs/http-parser.md.
using Meerkat.Http;

using Xunit;

namespace Meerkat.Tests.Http;

public sealed class ConformanceTests
{
    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        if (ConformanceCorpus.Cases is { } cases) foreach (ConformanceCase c in cases) data.Add(c.Id);
        else data.Add("(corpus missing)");
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Case_matches_expectation(string id)
    {
        ConformanceCase c = ConformanceCorpus.Get(id);
        if (c.SkipReason is not null) Assert.Skip("Deliberate deviation: " + c.SkipReason);
        Transcript actual = c.RunWhole();
        string? mismatch = Compare(c.Expected, actual);
        Assert.True(mismatch is null, $"{mismatch}\nexpected: {c.Expected}\nactual:   {actual}");
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Case_is_split_invariant(string id)
    {
        ConformanceCase c = ConformanceCorpus.Get(id);
        string whole = Normalize(c.RunWhole());
        string bytewise = Normalize(c.Run(ReaderDriver.BytewisePieces(c.Raw)));
        Assert.Equal(whole, bytewise);
        for (int at = 1; at < c.Raw.Length; at++)
            Assert.Equal(whole, Normalize(c.Run(ReaderDriver.SplitAt(c.Raw, at))));
    }

    [Fact]
    public void Summary_reports_pass_count()
    {
        IReadOnlyList<ConformanceCase> cases = ConformanceCorpus.RequireCases();
        int passed = 0, deviations = 0;
        var failed = new List<string>();
        foreach (ConformanceCase c in cases)
        {
            if (c.SkipReason is not null) { deviations++; continue; }
            Transcript actual = c.RunWhole();
            string? mismatch = Compare(c.Expected, actual);
            if (mismatch is null) passed++;
            else failed.Add($"{c.Id}: {mismatch} (error {actual.Error})");
        }
        int skippedByRule = ConformanceCorpus.TotalInFile - cases.Count;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"HTTP/1 conformance: {passed}/{cases.Count - deviations} passed; {deviations} deliberate deviations; " +
            $"{skippedByRule} of {ConformanceCorpus.TotalInFile} skipped by rule (lenient_flags or llhttp_specific).");
        foreach (string id in failed) TestContext.Current.TestOutputHelper?.WriteLine("FAILED " + id);
        Assert.Empty(failed);
    }

    private static string Normalize(Transcript t) => t.ToString();

    /// <summary>Null when <paramref name="actual"/> satisfies <paramref name="expected"/>, else what differs.</summary>
    internal static string? Compare(Transcript expected, Transcript actual)
    {
        if (expected.Outcome is null) return actual.Outcome == "error" ? "expected no error" : null;
        if (expected.Outcome != actual.Outcome) return $"outcome {actual.Outcome} instead of {expected.Outcome}";
        if (expected.Outcome == "error") return null; // the reason differs between parsers; the rejection is what matters
        if (expected.UpgradeData is not null && expected.UpgradeData != actual.UpgradeData)
            return $"upgrade data '{actual.UpgradeData}' instead of '{expected.UpgradeData}'";
        for (int i = 0; i < expected.Messages.Count; i++)
        {
            TranscriptMessage e = expected.Messages[i];
            TranscriptMessage? a = i < actual.Messages.Count ? actual.Messages[i] : null;
            string? diff = CompareMessage(e, a);
            if (diff is not null) return $"message {i}: {diff}";
        }
        int expectedHeads = expected.Messages.Count(m => m.HeadSeen);
        int actualHeads = actual.Messages.Count(m => m.HeadSeen);
        return actualHeads > expectedHeads ? $"{actualHeads} heads instead of {expectedHeads}" : null;
    }

    private static string? CompareMessage(TranscriptMessage e, TranscriptMessage? a)
    {
        if (!e.HeadSeen) return a is { HeadSeen: true } ? "head parsed but not expected yet" : null;
        if (a is null) return "missing";
        if (e.Complete != a.Complete) return $"complete={a.Complete}";
        if (e.Method is not null && e.Method != a.Method) return $"method {a.Method}";
        if (e.Url is not null && e.Url != a.Url) return $"url {a.Url}";
        if (e.Version is not null && e.Version != a.Version) return $"version {a.Version}";
        if (e.Status != 0 && e.Status != a.Status) return $"status {a.Status}";
        if (e.Reason is not null && e.Reason != a.Reason) return $"reason '{a.Reason}'";
        // http-parser reports trailer fields in the header list; we keep them apart.
        if (!e.Headers.SequenceEqual(a.Headers) && !e.Headers.SequenceEqual(a.Headers.Concat(a.Trailers))) return "headers differ";
        if (e.Body != a.Body) return "body differs";
        if (e.KeepAlive is { } ka && ka != a.KeepAlive) return $"keep_alive={a.KeepAlive}";
        if (e.Upgrade is { } up && up != a.Upgrade) return $"upgrade={a.Upgrade}";
        return null;
    }
}
