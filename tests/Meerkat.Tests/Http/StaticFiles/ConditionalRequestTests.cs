using Meerkat.Http.StaticFiles;
using Xunit;

namespace Meerkat.Tests.Http.StaticFiles;

public sealed class ConditionalRequestTests
{
    private const string Tag = "\"5-abc\"";
    private static readonly DateTimeOffset Modified = new(2024, 5, 6, 7, 8, 9, 500, TimeSpan.Zero);
    private const string ModifiedText = "Mon, 06 May 2024 07:08:09 GMT";
    private const string Earlier = "Mon, 06 May 2024 07:08:08 GMT";
    private const string Later = "Mon, 06 May 2024 07:08:10 GMT";

    [Theory]
    [InlineData("If-Match", Tag, ConditionalOutcome.Proceed)]
    [InlineData("If-Match", "*", ConditionalOutcome.Proceed)]
    [InlineData("If-Match", "\"x\", \"5-abc\"", ConditionalOutcome.Proceed)]
    [InlineData("If-Match", "W/\"5-abc\"", ConditionalOutcome.PreconditionFailed)]
    [InlineData("If-Match", "\"x\"", ConditionalOutcome.PreconditionFailed)]
    [InlineData("If-Match", "garbage", ConditionalOutcome.PreconditionFailed)]
    [InlineData("If-Unmodified-Since", ModifiedText, ConditionalOutcome.Proceed)]
    [InlineData("If-Unmodified-Since", Later, ConditionalOutcome.Proceed)]
    [InlineData("If-Unmodified-Since", Earlier, ConditionalOutcome.PreconditionFailed)]
    [InlineData("If-Unmodified-Since", "not a date", ConditionalOutcome.Proceed)]
    [InlineData("If-None-Match", Tag, ConditionalOutcome.NotModified)]
    [InlineData("If-None-Match", "W/\"5-abc\"", ConditionalOutcome.NotModified)]
    [InlineData("If-None-Match", "*", ConditionalOutcome.NotModified)]
    [InlineData("If-None-Match", "\"a\",, W/\"5-abc\" ,\"b\"", ConditionalOutcome.NotModified)]
    [InlineData("If-None-Match", "\"other\"", ConditionalOutcome.Proceed)]
    [InlineData("If-None-Match", "5-abc", ConditionalOutcome.Proceed)]
    [InlineData("If-Modified-Since", ModifiedText, ConditionalOutcome.NotModified)]
    [InlineData("If-Modified-Since", Later, ConditionalOutcome.NotModified)]
    [InlineData("If-Modified-Since", Earlier, ConditionalOutcome.Proceed)]
    [InlineData("If-Modified-Since", "Monday, 06-May-24 07:08:09 GMT", ConditionalOutcome.NotModified)]
    [InlineData("If-Modified-Since", "Mon May  6 07:08:09 2024", ConditionalOutcome.NotModified)]
    [InlineData("If-Modified-Since", "yesterday", ConditionalOutcome.Proceed)]
    // The outcome arrives as object: the enum is internal and a test method is public.
    public void Single_condition(string header, string value, object expected)
    {
        Assert.Equal((ConditionalOutcome)expected, Evaluate("GET", (header, value)));
    }

    [Fact]
    public void If_match_failure_wins_over_if_none_match()
    {
        Assert.Equal(ConditionalOutcome.PreconditionFailed, Evaluate("GET", ("If-Match", "\"x\""), ("If-None-Match", Tag)));
    }

    [Fact]
    public void If_unmodified_since_is_ignored_when_if_match_is_present()
    {
        Assert.Equal(ConditionalOutcome.Proceed, Evaluate("GET", ("If-Match", Tag), ("If-Unmodified-Since", Earlier)));
    }

    [Fact]
    public void If_modified_since_is_ignored_when_if_none_match_is_present()
    {
        Assert.Equal(ConditionalOutcome.Proceed, Evaluate("GET", ("If-None-Match", "\"other\""), ("If-Modified-Since", Later)));
    }

    [Fact]
    public void Head_gets_304_and_other_methods_get_412()
    {
        Assert.Equal(ConditionalOutcome.NotModified, Evaluate("HEAD", ("If-None-Match", Tag)));
        Assert.Equal(ConditionalOutcome.PreconditionFailed, Evaluate("PUT", ("If-None-Match", Tag)));
        Assert.Equal(ConditionalOutcome.Proceed, Evaluate("PUT", ("If-Modified-Since", Later)));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(Tag, true)]
    [InlineData("\"other\"", false)]
    [InlineData("W/\"5-abc\"", false)]
    [InlineData(ModifiedText, true)]
    [InlineData(Later, false)]
    [InlineData(Earlier, false)]
    [InlineData("garbage", false)]
    public void If_range(string? ifRange, bool applies)
    {
        Assert.Equal(applies, ConditionalRequest.RangeApplies(ifRange, Tag, Modified));
    }

    [Fact]
    public void Http_dates_round_trip_as_imf_fixdate()
    {
        Assert.Equal(ModifiedText, HttpDate.Format(Modified));
        Assert.True(HttpDate.TryParse(ModifiedText, out DateTimeOffset parsed));
        Assert.Equal(HttpDate.TruncateToSeconds(Modified), parsed);
        Assert.False(HttpDate.TryParse("Mon, 06 May 2024 07:08:09 PST", out _));
    }

    [Fact]
    public void Entity_tags_differ_by_length_time_and_coding()
    {
        string identity = EntityTag.Create(5, Modified);
        Assert.Matches("^\"[0-9a-f]+-[0-9a-f]+\"$", identity);
        Assert.NotEqual(identity, EntityTag.Create(6, Modified));
        Assert.NotEqual(identity, EntityTag.Create(5, Modified.AddTicks(1)));
        Assert.NotEqual(identity, EntityTag.Create(5, Modified, "br"));
    }

    private static ConditionalOutcome Evaluate(string method, params (string Name, string Value)[] headers) =>
        ConditionalRequest.Evaluate(method, Tag, Modified, name =>
            headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault());
}
