// How this file works: one method per frame type (RFC 9113 §6), each writing header and payload
// straight into the output buffer. Callers check sizes and stream states; the writer only
// asserts what would produce a frame no peer could parse (a payload over 2^24-1, padding over 255).
using System.Buffers;
using System.Buffers.Binary;

namespace Meerkat.Http2;

/// <summary>Serialises HTTP/2 frames.</summary>
internal static class Http2FrameWriter
{
    /// <summary>The largest payload a frame header can express (2^24-1).</summary>
    public const int MaxPayloadLength = (1 << 24) - 1;

    /// <summary>A frame of any type, extension frames included.</summary>
    public static void WriteFrame(IBufferWriter<byte> output, Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = Begin(output, payload.Length, type, flags, streamId);
        payload.CopyTo(span);
        output.Advance(Http2FrameHeader.Size + payload.Length);
    }

    /// <summary>DATA (§6.1); <paramref name="padLength"/> -1 for no padding, else 0–255 zero octets.</summary>
    public static void WriteData(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> data, bool endStream, int padLength = -1)
    {
        byte flags = endStream ? Http2FrameFlags.EndStream : (byte)0;
        WritePadded(output, Http2FrameType.Data, flags, streamId, default, data, padLength);
    }

    /// <summary>HEADERS (§6.2) carrying one fragment of a field block; no priority fields.</summary>
    public static void WriteHeaders(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> fragment, bool endStream, bool endHeaders, int padLength = -1)
    {
        byte flags = (byte)((endStream ? Http2FrameFlags.EndStream : 0) | (endHeaders ? Http2FrameFlags.EndHeaders : 0));
        WritePadded(output, Http2FrameType.Headers, flags, streamId, default, fragment, padLength);
    }

    /// <summary>HEADERS with the deprecated priority fields (§6.2); sent only by tests and peers that still use them.</summary>
    public static void WriteHeadersWithPriority(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> fragment, bool endStream, bool endHeaders, int dependsOn, bool isExclusive, byte weight)
    {
        byte flags = (byte)(Http2FrameFlags.Priority | (endStream ? Http2FrameFlags.EndStream : 0) | (endHeaders ? Http2FrameFlags.EndHeaders : 0));
        Span<byte> priority = stackalloc byte[5];
        WritePriorityFields(priority, dependsOn, isExclusive, weight);
        WritePadded(output, Http2FrameType.Headers, flags, streamId, priority, fragment, -1);
    }

    /// <summary>PRIORITY (§6.3).</summary>
    public static void WritePriority(IBufferWriter<byte> output, int streamId, int dependsOn, bool isExclusive, byte weight)
    {
        Span<byte> span = Begin(output, 5, Http2FrameType.Priority, 0, streamId);
        WritePriorityFields(span, dependsOn, isExclusive, weight);
        output.Advance(Http2FrameHeader.Size + 5);
    }

    /// <summary>RST_STREAM (§6.4).</summary>
    public static void WriteRstStream(IBufferWriter<byte> output, int streamId, Http2ErrorCode code)
    {
        Span<byte> span = Begin(output, 4, Http2FrameType.RstStream, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)code);
        output.Advance(Http2FrameHeader.Size + 4);
    }

    /// <summary>SETTINGS (§6.5) with the given parameters, in order.</summary>
    public static void WriteSettings(IBufferWriter<byte> output, ReadOnlySpan<Http2Setting> settings)
    {
        int length = settings.Length * Http2Setting.Size;
        Span<byte> span = Begin(output, length, Http2FrameType.Settings, 0, 0);
        for (int i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[(i * 6)..], (ushort)settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(span[(i * 6 + 2)..], settings[i].Value);
        }

        output.Advance(Http2FrameHeader.Size + length);
    }

    /// <summary>The empty SETTINGS frame with ACK that acknowledges the peer's (§6.5.3).</summary>
    public static void WriteSettingsAck(IBufferWriter<byte> output)
    {
        Begin(output, 0, Http2FrameType.Settings, Http2FrameFlags.Ack, 0);
        output.Advance(Http2FrameHeader.Size);
    }

    /// <summary>PUSH_PROMISE (§6.6). Meerkat never pushes; tests use this to send one.</summary>
    public static void WritePushPromise(IBufferWriter<byte> output, int streamId, int promisedStreamId, ReadOnlySpan<byte> fragment, bool endHeaders, int padLength = -1)
    {
        Span<byte> promised = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(promised, (uint)promisedStreamId & 0x7fff_ffff);
        WritePadded(output, Http2FrameType.PushPromise, endHeaders ? Http2FrameFlags.EndHeaders : (byte)0, streamId, promised, fragment, padLength);
    }

    /// <summary>PING (§6.7) with its 8 opaque octets, as a request or an acknowledgement.</summary>
    public static void WritePing(IBufferWriter<byte> output, ulong opaqueData, bool isAck)
    {
        Span<byte> span = Begin(output, 8, Http2FrameType.Ping, isAck ? Http2FrameFlags.Ack : (byte)0, 0);
        BinaryPrimitives.WriteUInt64BigEndian(span, opaqueData);
        output.Advance(Http2FrameHeader.Size + 8);
    }

    /// <summary>GOAWAY (§6.8): the last peer-initiated stream processed, the code, and debug data.</summary>
    public static void WriteGoAway(IBufferWriter<byte> output, int lastStreamId, Http2ErrorCode code, ReadOnlySpan<byte> debugData)
    {
        int length = 8 + debugData.Length;
        Span<byte> span = Begin(output, length, Http2FrameType.GoAway, 0, 0);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)lastStreamId & 0x7fff_ffff);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)code);
        debugData.CopyTo(span[8..]);
        output.Advance(Http2FrameHeader.Size + length);
    }

    /// <summary>WINDOW_UPDATE (§6.9) for a stream, or for the connection with stream 0.</summary>
    public static void WriteWindowUpdate(IBufferWriter<byte> output, int streamId, int increment)
    {
        Span<byte> span = Begin(output, 4, Http2FrameType.WindowUpdate, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)increment & 0x7fff_ffff);
        output.Advance(Http2FrameHeader.Size + 4);
    }

    /// <summary>CONTINUATION (§6.10) carrying the next fragment of a field block.</summary>
    public static void WriteContinuation(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> fragment, bool endHeaders)
    {
        WriteFrame(output, Http2FrameType.Continuation, endHeaders ? Http2FrameFlags.EndHeaders : (byte)0, streamId, fragment);
    }

    private static void WritePadded(IBufferWriter<byte> output, Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> fixedFields, ReadOnlySpan<byte> content, int padLength)
    {
        if (padLength > byte.MaxValue) throw new ArgumentOutOfRangeException(nameof(padLength), "padding is at most 255 octets");
        bool isPadded = padLength >= 0;
        int length = (isPadded ? 1 + padLength : 0) + fixedFields.Length + content.Length;
        Span<byte> span = Begin(output, length, type, (byte)(flags | (isPadded ? Http2FrameFlags.Padded : 0)), streamId);
        int at = 0;
        if (isPadded) span[at++] = (byte)padLength;
        fixedFields.CopyTo(span[at..]);
        at += fixedFields.Length;
        content.CopyTo(span[at..]);
        at += content.Length;
        if (isPadded) span.Slice(at, padLength).Clear();
        output.Advance(Http2FrameHeader.Size + length);
    }

    private static void WritePriorityFields(Span<byte> destination, int dependsOn, bool isExclusive, byte weight)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, ((uint)dependsOn & 0x7fff_ffff) | (isExclusive ? 0x8000_0000 : 0));
        destination[4] = weight;
    }

    /// <summary>Writes the frame header and returns the span after it, room for <paramref name="length"/> payload octets.</summary>
    private static Span<byte> Begin(IBufferWriter<byte> output, int length, Http2FrameType type, byte flags, int streamId)
    {
        if ((uint)length > MaxPayloadLength) throw new ArgumentOutOfRangeException(nameof(length), "a frame payload is at most 2^24-1 octets");
        Span<byte> span = output.GetSpan(Http2FrameHeader.Size + length);
        new Http2FrameHeader(length, type, flags, streamId).Write(span);
        return span.Slice(Http2FrameHeader.Size, length);
    }
}
