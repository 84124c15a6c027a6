using Meerkat.Http.StaticFiles;
using Xunit;

namespace Meerkat.Tests.Http.StaticFiles;

public sealed class RangeHeaderTests
{
    [Theory]
    [InlineData("bytes=0-0", 10, 0, 1)]
    [InlineData("bytes=0-4", 10, 0, 5)]
    [InlineData("bytes=2-", 10, 2, 8)]
    [InlineData("bytes=-1", 10, 9, 1)]
    [InlineData("bytes=-3", 10, 7, 3)]
    [InlineData("bytes=-100", 10, 0, 10)]
    [InlineData("bytes=5-100", 10, 5, 5)]
    [InlineData("bytes=9-9", 10, 9, 1)]
    [InlineData("BYTES=1-2", 10, 1, 2)]
    [InlineData("bytes= 1-2 ", 10, 1, 2)]
    [InlineData("bytes=1-2,", 10, 1, 2)]
    [InlineData("bytes=, 1-2", 10, 1, 2)]
    [InlineData("bytes=0-99999999999999999999999999999", 10, 0, 10)]
    [InlineData("bytes=-99999999999999999999999999999", 10, 0, 10)]
    [InlineData("bytes=0-9223372036854775807", 10, 0, 10)]
    public void Satisfiable(string header, long length, long start, long count)
    {
        ByteRange range = RangeHeader.Evaluate(header, length);
        Assert.Equal(RangeKind.Satisfiable, range.Kind);
        Assert.Equal(start, range.Start);
        Assert.Equal(count, range.Length);
        Assert.Equal($"bytes {start}-{start + count - 1}/{length}", range.ContentRange(length));
    }

    [Theory]
    [InlineData("bytes=5-", 5)]
    [InlineData("bytes=5-10", 5)]
    [InlineData("bytes=-0", 5)]
    [InlineData("bytes=0-", 0)]
    [InlineData("bytes=-1", 0)]
    [InlineData("bytes=99999999999999999999999999999-", 5)]
    [InlineData("bytes=99999999999999999999999999999-99999999999999999999999999999", 5)]
    public void Unsatisfiable(string header, long length)
    {
        ByteRange range = RangeHeader.Evaluate(header, length);
        Assert.Equal(RangeKind.Unsatisfiable, range.Kind);
        Assert.Equal($"bytes */{length}", range.ContentRange(length));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bytes")]
    [InlineData("bytes=")]
    [InlineData("bytes=10-5")]
    [InlineData("bytes=abc")]
    [InlineData("bytes=1")]
    [InlineData("bytes=-")]
    [InlineData("bytes=--1")]
    [InlineData("bytes=1-2-3")]
    [InlineData("bytes=+1-2")]
    [InlineData("bytes=0x1-2")]
    [InlineData("bytes=1 -2")]
    [InlineData("items=0-1")]
    [InlineData("bytes 0-1")]
    [InlineData("bytes=0-0,-1")]
    [InlineData("bytes=0-1,2-3")]
    [InlineData("bytes=0-1,5-")]
    public void Ignored_means_send_it_all(string? header)
    {
        Assert.Equal(RangeKind.Ignore, RangeHeader.Evaluate(header, 10).Kind);
    }
}
