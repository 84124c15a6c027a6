using System.Text;
using Meerkat.Http2.Hpack;

namespace Meerkat.Tests.Http2;

public class HpackHuffmanTests
{
    [Theory] // rows of RFC 7541 Appendix B: the derived canonical codes match the published ones
    [InlineData(0, 0x1ff8u, 13)]
    [InlineData(10, 0x3ffffffcu, 30)]
    [InlineData(32, 0x14u, 6)]
    [InlineData(48, 0x0u, 5)]
    [InlineData(97, 0x3u, 5)]
    [InlineData(123, 0x7ffeu, 15)]
    [InlineData(128, 0xfffe6u, 20)]
    [InlineData(255, 0x3ffffeeu, 26)]
    [InlineData(256, 0x3fffffffu, 30)]
    public void Codes_match_appendix_b(int symbol, uint code, int length)
    {
        Assert.Equal((code, length), HpackHuffman.CodeOf(symbol));
    }

    [Theory] // strings from the Huffman examples of RFC 7541 C.4 and C.6
    [InlineData("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff")]
    [InlineData("no-cache", "a8eb10649cbf")]
    [InlineData("custom-key", "25a849e95ba97d7f")]
    [InlineData("custom-value", "25a849e95bb8e8b4bf")]
    [InlineData("302", "6402")]
    [InlineData("private", "aec3771a4b")]
    [InlineData("Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff")]
    [InlineData("https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3")]
    [InlineData("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")]
    public void Encodes_and_decodes_the_rfc_strings(string text, string hex)
    {
        byte[] raw = Encoding.ASCII.GetBytes(text);
        byte[] expected = Convert.FromHexString(hex);
        Assert.Equal(expected.Length, HpackHuffman.EncodedLength(raw));
        var encoded = new byte[expected.Length];
        Assert.Equal(expected.Length, HpackHuffman.Encode(raw, encoded));
        Assert.Equal(expected, encoded);
        Assert.Equal(raw, Decode(expected));
    }

    [Fact]
    public void Every_octet_round_trips_alone_and_in_every_combination_of_two()
    {
        for (int a = 0; a < 256; a++)
        {
            Assert.Equal([(byte)a], Decode(Encode([(byte)a])));
            for (int b = 0; b < 256; b += 7) Assert.Equal([(byte)a, (byte)b], Decode(Encode([(byte)a, (byte)b])));
        }
    }

    [Fact]
    public void Random_strings_round_trip()
    {
        var random = new Random(7541);
        for (int i = 0; i < 2000; i++)
        {
            var text = new byte[random.Next(0, 300)];
            random.NextBytes(text);
            Assert.Equal(text, Decode(Encode(text)));
        }
    }

    [Fact]
    public void The_empty_string_is_empty()
    {
        Assert.Equal(0, HpackHuffman.EncodedLength([]));
        Assert.Empty(Decode([]));
    }

    [Theory]
    [InlineData("ffffffff", "padding of 32 bits (EOS and more)")]
    [InlineData("ff", "padding of 8 bits")]
    [InlineData("1fff", "'a' (00011) then 11 bits of ones")]
    [InlineData("00", "'0' (00000) then 3 zero bits: padding that is not a prefix of EOS")]
    [InlineData("fffffffc", "EOS (30 ones) decoded as a symbol")]
    [InlineData("18", "'a' then 011: padding with a zero bit")]
    public void Invalid_strings_are_refused(string hex, string why)
    {
        var destination = new byte[64];
        Assert.False(HpackHuffman.TryDecode(Convert.FromHexString(hex), destination, out _), why);
    }

    [Fact]
    public void Valid_padding_of_one_to_seven_bits_is_accepted()
    {
        // '0' is 00000: followed by 1..3 ones it fills a byte; 'a','0' etc. give other lengths.
        for (int count = 1; count <= 12; count++)
        {
            byte[] text = Enumerable.Repeat((byte)'0', count).ToArray();
            byte[] encoded = Encode(text);
            Assert.InRange(encoded.Length * 8 - count * 5, 0, 7);
            Assert.Equal(text, Decode(encoded));
        }
    }

    private static byte[] Encode(byte[] text)
    {
        var encoded = new byte[HpackHuffman.EncodedLength(text)];
        Assert.Equal(encoded.Length, HpackHuffman.Encode(text, encoded));
        return encoded;
    }

    private static byte[] Decode(byte[] encoded)
    {
        var destination = new byte[HpackHuffman.MaxDecodedLength(encoded.Length)];
        Assert.True(HpackHuffman.TryDecode(encoded, destination, out int written), Convert.ToHexString(encoded));
        return destination[..written];
    }
}
