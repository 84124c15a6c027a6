using Meerkat.Http.StaticFiles;
using Xunit;

namespace Meerkat.Tests.Http.StaticFiles;

public sealed class AcceptEncodingTests
{
    private static readonly string[] Both = ["br", "gzip"];

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("gzip", "gzip")]
    [InlineData("x-gzip", "gzip")]
    [InlineData("GZIP", "gzip")]
    [InlineData("br;q=0.5, gzip;q=0.8", "gzip")]
    [InlineData("br;q=0.8, gzip;q=0.8", "br")]
    [InlineData("br;q=0, gzip", "gzip")]
    [InlineData("br;q=0, gzip;q=0", null)]
    [InlineData("*", "br")]
    [InlineData("*;q=0.5, br;q=0", "gzip")]
    [InlineData("identity", null)]
    [InlineData("identity;q=1, br;q=0.5", null)]
    [InlineData("identity;q=0.5, br;q=0.5", "br")]
    [InlineData("identity;q=0, gzip;q=0.001", "gzip")]
    [InlineData("deflate", null)]
    [InlineData("br;q=2", null)]
    [InlineData("br;q=0.0001", null)]
    [InlineData("br;q=abc, gzip", "gzip")]
    [InlineData("br ; Q=1.000", "br")]
    [InlineData("br;q=1.0001", null)]
    [InlineData(" , br", "br")]
    public void Selects_with_q_values(string? header, string? expected)
    {
        Assert.Equal(expected, AcceptEncoding.Select(header, Both));
    }

    [Theory]
    [InlineData("gzip, br", "gzip")]
    [InlineData("br", null)]
    public void Only_available_codings_are_chosen(string header, string? expected)
    {
        Assert.Equal(expected, AcceptEncoding.Select(header, ["gzip"]));
    }
}
