using System.Buffers;
using System.Buffers.Binary;
using Meerkat.Http2;

namespace Meerkat.Tests.Http2;

/// <summary>The frame codec (RFC 9113 §4, §6): every frame type written and read back, padding,
/// length limits, extension frames, and the same frames however the bytes are cut.</summary>
public class Http2FrameTests
{
    private const int MaxFrameSize = 16_384;

    [Fact]
    public void Header_round_trips_and_ignores_the_reserved_bit()
    {
        var bytes = new byte[9];
        new Http2FrameHeader(0x123456, Http2FrameType.Headers, 0x25, 0x7fff_ffff).Write(bytes);
        Assert.Equal("1234560125" + "7FFFFFFF", Convert.ToHexString(bytes));
        bytes[5] |= 0x80; // R set by the sender: must be ignored on receipt (§4.1)
        Assert.Equal(new Http2FrameHeader(0x123456, Http2FrameType.Headers, 0x25, 0x7fff_ffff), Http2FrameHeader.Read(bytes));
    }

    [Fact]
    public void Every_frame_type_reads_back_what_was_written()
    {
        var output = new ArrayBufferWriter<byte>();
        WriteOneOfEach(output);
        List<Recorded> frames = ReadAll(output.WrittenSpan.ToArray());
        Assert.Equal(
        [
            new(Http2FrameType.Data, Http2FrameFlags.EndStream, 1, "68656C6C6F"),
            new(Http2FrameType.Data, Http2FrameFlags.Padded, 3, "03" + "616263" + "000000"),
            new(Http2FrameType.Headers, Http2FrameFlags.EndHeaders, 1, "82"),
            new(Http2FrameType.Headers, Http2FrameFlags.Priority | Http2FrameFlags.EndStream, 5, "80000003" + "10" + "8284"),
            new(Http2FrameType.Priority, 0, 7, "00000005" + "FF"),
            new(Http2FrameType.RstStream, 0, 9, "00000008"),
            new(Http2FrameType.Settings, 0, 0, "000100000000" + "000300000064"),
            new(Http2FrameType.Settings, Http2FrameFlags.Ack, 0, ""),
            new(Http2FrameType.PushPromise, Http2FrameFlags.EndHeaders, 1, "00000002" + "82"),
            new(Http2FrameType.Ping, 0, 0, "0102030405060708"),
            new(Http2FrameType.Ping, Http2FrameFlags.Ack, 0, "0102030405060708"),
            new(Http2FrameType.GoAway, 0, 0, "00000007" + "0000000B" + "6361"),
            new(Http2FrameType.WindowUpdate, 0, 0, "7FFFFFFF"),
            new(Http2FrameType.WindowUpdate, 0, 3, "00000001"),
            new(Http2FrameType.Continuation, Http2FrameFlags.EndHeaders, 1, "8687"),
            new((Http2FrameType)0xfa, 0xff, 11, "7878"),
        ], frames);
    }

    [Fact]
    public void The_same_frames_come_out_for_every_cut_and_trailing_bytes_wait_for_the_rest()
    {
        var output = new ArrayBufferWriter<byte>();
        WriteOneOfEach(output);
        byte[] stream = output.WrittenSpan.ToArray();
        List<Recorded> expected = ReadAll(stream);
        foreach (IEnumerable<byte[]> cut in Cuts.All(stream))
        {
            Assert.Equal(expected, ReadChunks(cut, out int left));
            Assert.Equal(0, left);
        }

        byte[] trailing = [.. stream, 0x00, 0x00, 0x05, 0x00]; // start of another frame
        Assert.Equal(expected, ReadChunks([trailing], out int unread));
        Assert.Equal(4, unread);
    }

    [Fact]
    public void A_frame_over_the_limit_is_refused_from_its_header_alone()
    {
        byte[] header = new byte[9];
        new Http2FrameHeader(MaxFrameSize + 1, Http2FrameType.Data, 0, 1).Write(header);
        Assert.Equal(Http2FrameReadStatus.FrameTooLarge, Http2Frame.TryRead(header, MaxFrameSize, out _));
        new Http2FrameHeader(MaxFrameSize, Http2FrameType.Data, 0, 1).Write(header);
        Assert.Equal(Http2FrameReadStatus.NeedMoreData, Http2Frame.TryRead(header, MaxFrameSize, out _));
        byte[] whole = [.. header, .. new byte[MaxFrameSize]];
        Assert.Equal(Http2FrameReadStatus.Frame, Http2Frame.TryRead(whole, MaxFrameSize, out Http2Frame frame));
        Assert.Equal(MaxFrameSize, frame.Payload.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(200)]
    [InlineData(255)]
    public void Padding_is_removed_and_counted(int padLength)
    {
        var output = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteData(output, 1, "body"u8, endStream: false, padLength);
        Assert.Equal(Http2FrameReadStatus.Frame, Http2Frame.TryRead(output.WrittenSpan, MaxFrameSize, out Http2Frame frame));
        Assert.Equal(Http2ErrorCode.NoError, frame.SplitPadded(0, out _, out ReadOnlySpan<byte> content, out int padding));
        Assert.Equal("body"u8.ToArray(), content.ToArray());
        Assert.Equal(padLength, padding);
        Assert.Equal(1 + padLength + 4, frame.Payload.Length); // all of it is flow controlled (§6.1)
    }

    [Theory]
    [InlineData("06" + "6162636465", 0, "PROTOCOL_ERROR", "padding as long as the payload")]
    [InlineData("09" + "61626364", 0, "PROTOCOL_ERROR", "padding longer than the payload")]
    [InlineData("04" + "61626364", 0, "NO_ERROR", "padding filling all that follows the Pad Length (empty content)")]
    [InlineData("", 0, "FRAME_SIZE_ERROR", "no room for the Pad Length octet")]
    [InlineData("00" + "80000001", 5, "FRAME_SIZE_ERROR", "no room for the priority fields")]
    [InlineData("01" + "0000000310" + "00", 5, "NO_ERROR", "one octet of padding after the priority fields")]
    [InlineData("02" + "0000000310" + "00", 5, "PROTOCOL_ERROR", "padding that would overlap the priority fields")]
    public void Padding_that_does_not_fit_is_an_error(string payloadHex, int fixedLength, string expected, string why)
    {
        byte[] payload = Convert.FromHexString(payloadHex);
        var frame = new Http2Frame(new Http2FrameHeader(payload.Length, Http2FrameType.Headers, Http2FrameFlags.Padded, 1), payload);
        Http2ErrorCode code = frame.SplitPadded(fixedLength, out _, out _, out _);
        Assert.True(expected == Http2ErrorNames.Of(code), $"{why}: {code}");
    }

    [Fact]
    public void Settings_and_goaway_fields_are_big_endian_and_the_reserved_bit_is_masked()
    {
        Assert.Equal(0x7fff_ffff, Http2Frame.ReadUInt31([0xff, 0xff, 0xff, 0xff]));
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, Http2Frame.ReadErrorCode([0, 0, 0, 0x0b]));
        Assert.Equal((Http2ErrorCode)0xdeadbeef, Http2Frame.ReadErrorCode([0xde, 0xad, 0xbe, 0xef]));
    }

    private static void WriteOneOfEach(ArrayBufferWriter<byte> output)
    {
        Http2FrameWriter.WriteData(output, 1, "hello"u8, endStream: true);
        Http2FrameWriter.WriteData(output, 3, "abc"u8, endStream: false, padLength: 3);
        Http2FrameWriter.WriteHeaders(output, 1, [0x82], endStream: false, endHeaders: true);
        Http2FrameWriter.WriteHeadersWithPriority(output, 5, [0x82, 0x84], endStream: true, endHeaders: false, dependsOn: 3, isExclusive: true, weight: 16);
        Http2FrameWriter.WritePriority(output, 7, 5, isExclusive: false, weight: 255);
        Http2FrameWriter.WriteRstStream(output, 9, Http2ErrorCode.Cancel);
        Http2FrameWriter.WriteSettings(output, [new Http2Setting(Http2SettingId.HeaderTableSize, 0), new Http2Setting(Http2SettingId.MaxConcurrentStreams, 100)]);
        Http2FrameWriter.WriteSettingsAck(output);
        Http2FrameWriter.WritePushPromise(output, 1, 2, [0x82], endHeaders: true);
        Http2FrameWriter.WritePing(output, 0x0102030405060708, isAck: false);
        Http2FrameWriter.WritePing(output, 0x0102030405060708, isAck: true);
        Http2FrameWriter.WriteGoAway(output, 7, Http2ErrorCode.EnhanceYourCalm, "ca"u8);
        Http2FrameWriter.WriteWindowUpdate(output, 0, int.MaxValue);
        Http2FrameWriter.WriteWindowUpdate(output, 3, 1);
        Http2FrameWriter.WriteContinuation(output, 1, [0x86, 0x87], endHeaders: true);
        Http2FrameWriter.WriteFrame(output, (Http2FrameType)0xfa, 0xff, 11, "xx"u8);
    }

    internal readonly record struct Recorded(Http2FrameType Type, byte Flags, int StreamId, string PayloadHex);

    private static List<Recorded> ReadAll(byte[] stream) => ReadChunks([stream], out _);

    /// <summary>Reads as a connection would: appends each chunk to what is left, reads whole frames, keeps the rest.</summary>
    private static List<Recorded> ReadChunks(IEnumerable<byte[]> chunks, out int left)
    {
        var frames = new List<Recorded>();
        byte[] pending = [];
        foreach (byte[] chunk in chunks)
        {
            pending = [.. pending, .. chunk];
            int at = 0;
            while (Http2Frame.TryRead(pending.AsSpan(at), MaxFrameSize, out Http2Frame frame) == Http2FrameReadStatus.Frame)
            {
                frames.Add(new Recorded(frame.Type, frame.Header.Flags, frame.StreamId, Convert.ToHexString(frame.Payload)));
                at += frame.EncodedLength;
            }

            pending = pending[at..];
        }

        left = pending.Length;
        return frames;
    }
}

/// <summary>Ways of cutting input (STYLE.md §12): whole, byte by byte, and at every split point.</summary>
internal static class Cuts
{
    public static IEnumerable<IEnumerable<byte[]>> All(byte[] data)
    {
        yield return [data];
        yield return data.Select(b => new[] { b });
        for (int i = 0; i <= data.Length; i++) yield return [data[..i], data[i..]];
    }
}

/// <summary>RFC 9113 §7 names of error codes, for readable test rows.</summary>
internal static class Http2ErrorNames
{
    public static string Of(Http2ErrorCode code) => code switch
    {
        Http2ErrorCode.NoError => "NO_ERROR",
        Http2ErrorCode.ProtocolError => "PROTOCOL_ERROR",
        Http2ErrorCode.InternalError => "INTERNAL_ERROR",
        Http2ErrorCode.FlowControlError => "FLOW_CONTROL_ERROR",
        Http2ErrorCode.SettingsTimeout => "SETTINGS_TIMEOUT",
        Http2ErrorCode.StreamClosed => "STREAM_CLOSED",
        Http2ErrorCode.FrameSizeError => "FRAME_SIZE_ERROR",
        Http2ErrorCode.RefusedStream => "REFUSED_STREAM",
        Http2ErrorCode.Cancel => "CANCEL",
        Http2ErrorCode.CompressionError => "COMPRESSION_ERROR",
        Http2ErrorCode.ConnectError => "CONNECT_ERROR",
        Http2ErrorCode.EnhanceYourCalm => "ENHANCE_YOUR_CALM",
        Http2ErrorCode.InadequateSecurity => "INADEQUATE_SECURITY",
        Http2ErrorCode.Http11Required => "HTTP_1_1_REQUIRED",
        _ => "0x" + ((uint)code).ToString("x", System.Globalization.CultureInfo.InvariantCulture),
    };
}
