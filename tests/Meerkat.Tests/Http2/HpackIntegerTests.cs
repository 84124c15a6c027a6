using Meerkat.Http2.Hpack;

namespace Meerkat.Tests.Http2;

public class HpackIntegerTests
{
    [Theory]
    [InlineData(10, 5, "0a")]          // RFC 7541 C.1.1
    [InlineData(1337, 5, "1f9a0a")]    // C.1.2
    [InlineData(42, 8, "2a")]          // C.1.3
    [InlineData(30, 5, "1e")]
    [InlineData(31, 5, "1f00")]        // the prefix value itself needs a zero continuation
    [InlineData(127, 7, "7f00")]
    [InlineData(128, 7, "7f01")]
    [InlineData(int.MaxValue, 1, "01feffffff07")]
    public void Encodes_and_decodes_the_rfc_examples(int value, int prefixBits, string hex)
    {
        byte[] expected = Convert.FromHexString(hex);
        var buffer = new byte[8];
        int written = HpackInteger.Encode(value, prefixBits, 0, buffer);
        Assert.Equal(expected, buffer[..written]);
        Assert.Equal(written, HpackInteger.EncodedLength(value, prefixBits));
        Assert.Equal(HpackIntegerStatus.Done, HpackInteger.Decode(expected, prefixBits, out int decoded, out int used));
        Assert.Equal((value, expected.Length), (decoded, used));
    }

    [Fact]
    public void Pattern_bits_above_the_prefix_are_kept_when_encoding_and_ignored_when_decoding()
    {
        var buffer = new byte[8];
        int written = HpackInteger.Encode(1337, 5, 0xe0, buffer);
        Assert.Equal("FF9A0A", Convert.ToHexString(buffer, 0, written));
        Assert.Equal(HpackIntegerStatus.Done, HpackInteger.Decode(buffer.AsSpan(0, written), 5, out int value, out _));
        Assert.Equal(1337, value);
    }

    [Fact]
    public void Round_trips_boundary_values_for_every_prefix_size_and_reports_every_truncation()
    {
        var buffer = new byte[8];
        int[] values = [0, 1, 2, 14, 15, 16, 30, 31, 32, 62, 63, 64, 126, 127, 128, 254, 255, 256, 16_383, 16_384, 1 << 21, int.MaxValue - 1, int.MaxValue];
        for (int prefix = 1; prefix <= 8; prefix++)
        {
            foreach (int value in values)
            {
                int written = HpackInteger.Encode(value, prefix, 0, buffer);
                Assert.Equal(HpackIntegerStatus.Done, HpackInteger.Decode(buffer.AsSpan(0, written), prefix, out int decoded, out int used));
                Assert.Equal((value, written), (decoded, used));
                for (int cut = 0; cut < written; cut++)
                {
                    Assert.Equal(HpackIntegerStatus.Truncated, HpackInteger.Decode(buffer.AsSpan(0, cut), prefix, out _, out _));
                }
            }
        }
    }

    [Theory]
    [InlineData("1f80808080808000")] // more continuation octets than a 31-bit value needs
    [InlineData("1fe1ffffff07")]     // 31 + 2^31 - 1 + ... > int.MaxValue
    [InlineData("01ffffffff0f")]     // 1 + 2^32 - 1
    public void Values_beyond_31_bits_are_overflow(string hex)
    {
        Assert.Equal(HpackIntegerStatus.Overflow, HpackInteger.Decode(Convert.FromHexString(hex), hex == "01ffffffff0f" ? 1 : 5, out _, out _));
    }
}
