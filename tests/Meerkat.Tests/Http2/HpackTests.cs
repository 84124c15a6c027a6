using System.Buffers;
using System.Text;
using Meerkat.Http2.Hpack;

namespace Meerkat.Tests.Http2;

/// <summary>The HPACK decoder and encoder against RFC 7541 Appendix C, and their limits.</summary>
public class HpackTests
{
    public static TheoryData<string> Sections => ["C.3", "C.4", "C.5", "C.6"];

    [Theory]
    [InlineData("C.2.1 Literal Header Field with Indexing")]
    [InlineData("C.2.2 Literal Header Field without Indexing")]
    [InlineData("C.2.3 Literal Header Field Never Indexed")]
    [InlineData("C.2.4 Indexed Header Field")]
    public void Decodes_the_field_representation_examples(string name)
    {
        HpackExample example = HpackAppendixC.Examples.Single(e => e.Name == name);
        var decoder = new HpackDecoder();
        var fields = new HpackFieldList(16 * 1024);
        Assert.Equal(HpackError.None, decoder.Decode(Convert.FromHexString(example.Hex), fields));
        Assert.Equal(example.Fields, Fields(fields));
        Assert.Equal(example.Table, Table(decoder.Table));
        Assert.Equal(example.TableSize, decoder.Table.Size);
        Assert.Equal(name.StartsWith("C.2.3", StringComparison.Ordinal), fields.IsNeverIndexed(0));
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public void Decodes_each_sequence_of_examples_on_one_connection(string section)
    {
        var decoder = new HpackDecoder(TableSizeOf(section));
        var fields = new HpackFieldList(16 * 1024);
        foreach (HpackExample example in HpackAppendixC.Section(section))
        {
            Assert.Equal(HpackError.None, decoder.Decode(Convert.FromHexString(example.Hex), fields));
            Assert.Equal(example.Fields, Fields(fields));
            Assert.Equal(example.Table, Table(decoder.Table));
            Assert.Equal(example.TableSize, decoder.Table.Size);
        }
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public void Encodes_each_sequence_of_examples_byte_for_byte(string section)
    {
        int tableSize = TableSizeOf(section);
        var encoder = new HpackEncoder(tableSize) { UsesHuffman = section is "C.4" or "C.6", IndexesSelectively = false };
        encoder.SetPeerMaxTableSize(tableSize);
        encoder.BeginBlock(new ArrayBufferWriter<byte>()); // the examples assume the size is already agreed
        var block = new ArrayBufferWriter<byte>();
        foreach (HpackExample example in HpackAppendixC.Section(section))
        {
            block.ResetWrittenCount();
            encoder.BeginBlock(block);
            foreach (string field in example.Fields)
            {
                (byte[] name, byte[] value) = Split(field);
                encoder.Encode(name, value, isSensitive: false, block);
            }

            Assert.Equal(example.Hex, Convert.ToHexString(block.WrittenSpan).ToLowerInvariant());
            Assert.Equal(example.Table, Table(encoder.Table));
        }
    }

    [Theory]
    [InlineData("C.2.1 Literal Header Field with Indexing", false)]
    [InlineData("C.2.2 Literal Header Field without Indexing", false)]
    [InlineData("C.2.3 Literal Header Field Never Indexed", true)]
    [InlineData("C.2.4 Indexed Header Field", false)]
    public void Encodes_the_field_representation_examples(string name, bool isSensitive)
    {
        HpackExample example = HpackAppendixC.Examples.Single(e => e.Name == name);
        var encoder = new HpackEncoder { UsesHuffman = false };
        var block = new ArrayBufferWriter<byte>();
        (byte[] fieldName, byte[] value) = Split(example.Fields[0]);
        encoder.Encode(fieldName, value, isSensitive, block);
        Assert.Equal(example.Hex, Convert.ToHexString(block.WrittenSpan).ToLowerInvariant());
    }

    [Fact]
    public void Every_truncation_of_a_block_is_either_a_shorter_valid_block_or_truncated_never_an_exception()
    {
        foreach (HpackExample example in HpackAppendixC.Examples)
        {
            byte[] block = Convert.FromHexString(example.Hex);
            for (int cut = 0; cut < block.Length; cut++)
            {
                var decoder = new HpackDecoder(TableSizeOf(example.Name[..3]));
                HpackError error = decoder.Decode(block.AsSpan(0, cut), new HpackFieldList(16 * 1024));
                Assert.True(error is HpackError.None or HpackError.Truncated or HpackError.InvalidIndex or HpackError.InvalidHuffman, $"{example.Name} cut at {cut}: {error}");
            }
        }
    }

    [Theory]
    [InlineData("80", "InvalidIndex", "indexed field 0")]
    [InlineData("be", "InvalidIndex", "index 62 with an empty dynamic table")]
    [InlineData("7f00", "InvalidIndex", "literal naming index 63 with an empty dynamic table")]
    [InlineData("ff80808080808000", "IntegerOverflow", "index wider than 31 bits")]
    [InlineData("820f", "Truncated", "literal without its name")]
    [InlineData("0003616263", "Truncated", "literal name without a value")]
    [InlineData("000361626305616263", "Truncated", "value shorter than its length")]
    [InlineData("00816203616263", "InvalidHuffman", "Huffman name with zero padding")]
    [InlineData("823f", "SizeUpdateNotAtStart", "size update after a field")]
    [InlineData("3fe21f", "SizeUpdateTooLarge", "size update to 4097 over a 4096 setting")]
    public void Malformed_blocks_are_decoding_errors(string hex, string expected, string why)
    {
        var decoder = new HpackDecoder();
        Assert.True(expected == decoder.Decode(Convert.FromHexString(hex), new HpackFieldList(1024)).ToString(), why);
    }

    [Fact]
    public void Size_updates_at_the_start_of_a_block_are_applied_in_order()
    {
        var decoder = new HpackDecoder();
        var fields = new HpackFieldList(1024);
        Assert.Equal(HpackError.None, decoder.Decode(Convert.FromHexString("400161016240016301644001650166"), fields)); // three literals added
        Assert.Equal(3, decoder.Table.Count);
        Assert.Equal(HpackError.None, decoder.Decode(Convert.FromHexString("203f1182"), fields)); // 0 then 48, then :method GET
        Assert.Equal((0, 48), (decoder.Table.Count, decoder.Table.MaxSize));
        Assert.Equal([":method: GET"], Fields(fields));
    }

    [Fact]
    public void After_the_limit_is_lowered_the_next_block_must_start_with_a_size_update()
    {
        var decoder = new HpackDecoder();
        var fields = new HpackFieldList(1024);
        decoder.SetMaxTableSizeLimit(100);
        Assert.Equal(HpackError.SizeUpdateMissing, decoder.Decode([0x82], fields));
        Assert.Equal(HpackError.SizeUpdateTooLarge, decoder.Decode(Convert.FromHexString("3f4682"), fields)); // 101
        Assert.Equal(HpackError.None, decoder.Decode(Convert.FromHexString("3f4582"), fields)); // 100
        Assert.Equal(HpackError.None, decoder.Decode([0x82], fields));
    }

    [Fact]
    public void A_decompression_bomb_stores_no_more_than_the_limit_but_keeps_the_table_in_step()
    {
        // One 4,000-octet field added to the table, then referenced 10,000 times (one octet each):
        // 40 MB decoded from 10 KB of input unless the list stops storing at its limit.
        var block = new ArrayBufferWriter<byte>();
        block.Write(Convert.FromHexString("4001787fa11e")); // literal with indexing, name "x", value length 4000 (raw)
        block.Write(Enumerable.Repeat((byte)'v', 4000).ToArray());
        block.Write(Enumerable.Repeat((byte)0xbe, 10_000).ToArray()); // index 62: the new entry
        block.Write(Convert.FromHexString("4001790179")); // and a last literal with indexing, y: y
        var decoder = new HpackDecoder();
        var fields = new HpackFieldList(16 * 1024);
        Assert.Equal(HpackError.None, decoder.Decode(block.WrittenSpan, fields));
        Assert.True(fields.IsOverLimit);
        Assert.True(fields.ByteLength <= 16 * 1024);
        Assert.Equal(10_002L * 32 + 10_001L * 4001 + 2, fields.Size);
        Assert.Equal(["y: y", "x: " + new string('v', 4000)], Table(decoder.Table));
    }

    [Fact]
    public void Encoder_and_decoder_agree_over_many_blocks_with_evictions_and_size_changes()
    {
        var random = new Random(9113);
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        var fields = new HpackFieldList(64 * 1024);
        var block = new ArrayBufferWriter<byte>();
        string[] names = ["content-type", "x-custom", "server", "cache-control", ":path", "cookie", "authorization", "x-long", "accept"];
        for (int i = 0; i < 500; i++)
        {
            if (i % 97 == 50) encoder.SetPeerMaxTableSize(random.Next(0, 2) == 0 ? 0 : 4096);
            block.ResetWrittenCount();
            encoder.BeginBlock(block);
            var expected = new List<string>();
            for (int f = random.Next(0, 12); f > 0; f--)
            {
                string name = names[random.Next(names.Length)];
                string value = name == "x-long" ? new string('z', random.Next(0, 5000)) : "v" + random.Next(0, 20);
                encoder.Encode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), isSensitive: random.Next(0, 10) == 0, block);
                expected.Add(name + ": " + value);
            }

            Assert.Equal(HpackError.None, decoder.Decode(block.WrittenSpan, fields));
            Assert.Equal(expected, Fields(fields));
            Assert.Equal(Table(encoder.Table), Table(decoder.Table));
        }
    }

    [Fact]
    public void Lowering_then_raising_the_peer_setting_announces_the_smallest_then_the_final_size()
    {
        var encoder = new HpackEncoder();
        encoder.SetPeerMaxTableSize(0);
        encoder.SetPeerMaxTableSize(2048);
        var block = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(block);
        Assert.Equal("203FE10F", Convert.ToHexString(block.WrittenSpan)); // 0, then 2048
        block.ResetWrittenCount();
        encoder.BeginBlock(block);
        Assert.Equal(0, block.WrittenCount);
    }

    [Fact]
    public void Sensitive_fields_are_never_indexed_and_stay_out_of_the_table()
    {
        var encoder = new HpackEncoder();
        var block = new ArrayBufferWriter<byte>();
        encoder.Encode("authorization"u8, "Bearer secret"u8, isSensitive: false, block);
        encoder.Encode("cookie"u8, "a=b"u8, isSensitive: false, block);
        encoder.Encode("x-token"u8, "t"u8, isSensitive: true, block);
        Assert.Equal(0, encoder.Table.Count);
        var fields = new HpackFieldList(1024);
        Assert.Equal(HpackError.None, new HpackDecoder().Decode(block.WrittenSpan, fields));
        Assert.All(Enumerable.Range(0, 3), i => Assert.True(fields.IsNeverIndexed(i)));
    }

    [Fact]
    public void Repeated_response_fields_cost_one_octet_each_after_the_first_block()
    {
        var encoder = new HpackEncoder();
        var block = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 2; i++)
        {
            block.ResetWrittenCount();
            encoder.Encode(":status"u8, "200"u8, false, block);
            encoder.Encode("content-type"u8, "text/plain"u8, false, block);
            encoder.Encode("server"u8, "meerkat"u8, false, block);
        }

        Assert.Equal(3, block.WrittenCount);
    }

    [Fact]
    public void Encoding_and_decoding_a_warm_block_allocates_nothing()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        var fields = new HpackFieldList(16 * 1024);
        var block = new ArrayBufferWriter<byte>(4096);
        void RoundTrip()
        {
            block.ResetWrittenCount();
            encoder.BeginBlock(block);
            encoder.Encode(":method"u8, "GET"u8, false, block);
            encoder.Encode(":path"u8, "/plaintext?x=1"u8, false, block);
            encoder.Encode("user-agent"u8, "h2load nghttp2/1.52.0"u8, false, block);
            encoder.Encode("accept-encoding"u8, "gzip, br"u8, false, block);
            decoder.Decode(block.WrittenSpan, fields);
        }

        RoundTrip();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) RoundTrip();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(4, fields.Count);
    }

    internal static int TableSizeOf(string section) => section is "C.5" or "C.6" ? 256 : 4096;

    internal static (byte[] Name, byte[] Value) Split(string field)
    {
        int colon = field.IndexOf(": ", 1, StringComparison.Ordinal);
        return (Encoding.ASCII.GetBytes(field[..colon]), Encoding.ASCII.GetBytes(field[(colon + 2)..]));
    }

    internal static List<string> Fields(HpackFieldList fields) =>
        Enumerable.Range(0, fields.Count).Select(i => Encoding.ASCII.GetString(fields.GetName(i)) + ": " + Encoding.ASCII.GetString(fields.GetValue(i))).ToList();

    internal static List<string> Table(HpackDynamicTable table) =>
        Enumerable.Range(1, table.Count).Select(i =>
        {
            table.Get(i, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);
            return Encoding.ASCII.GetString(name) + ": " + Encoding.ASCII.GetString(value);
        }).ToList();
}
