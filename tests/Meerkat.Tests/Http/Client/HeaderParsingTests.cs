using Meerkat.Http.Client;

namespace Meerkat.Tests.Http.Client;

public sealed class HeaderParsingTests
{
    [Theory]
    [InlineData("bytes 100-199/1000", 100L, 199L, 1000L)]
    [InlineData("bytes 0-0/*", 0L, 0L, null)]
    [InlineData("BYTES 5-9/10", 5L, 9L, 10L)]
    public void ContentRangeParses(string value, long first, long last, long? total) =>
        Assert.Equal((first, last, total), HttpDownloadExtensions.ContentRange(value));

    [Theory]
    [InlineData(null)]
    [InlineData("bytes */1000")]
    [InlineData("bytes 9-5/10")]
    [InlineData("bytes 5-9/9")]
    [InlineData("items 1-2/3")]
    [InlineData("bytes -5/10")]
    public void ContentRangeRejectsWhatItCannotTrust(string? value) => Assert.Null(HttpDownloadExtensions.ContentRange(value));
}
