// How this file works: framing (RFC 9113 §4) over a span. A frame is returned only when all of
// it is in the input, so its payload is a view of the caller's bytes, never a copy; a partial
// frame asks for more data and consumes nothing. The length check comes first, from the header
// alone, so a peer cannot make us wait for (or buffer) a frame larger than we allow (§4.2).
using System.Buffers.Binary;

namespace Meerkat.Http2;

/// <summary>What <see cref="Http2Frame.TryRead"/> found at the start of the input.</summary>
internal enum Http2FrameReadStatus
{
    /// <summary>A whole frame; consume <see cref="Http2Frame.EncodedLength"/> octets.</summary>
    Frame,

    /// <summary>Less than one whole frame; nothing consumed.</summary>
    NeedMoreData,

    /// <summary>The header announces a payload above the limit: FRAME_SIZE_ERROR (§4.2).</summary>
    FrameTooLarge,
}

/// <summary>One frame viewed over the received bytes: its header and its payload.</summary>
internal readonly ref struct Http2Frame
{
    public Http2Frame(Http2FrameHeader header, ReadOnlySpan<byte> payload)
    {
        Header = header;
        Payload = payload;
    }

    /// <summary>The frame header.</summary>
    public Http2FrameHeader Header { get; }

    /// <summary>The payload, valid as long as the input it was read from.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The frame type (possibly one this enum does not name: an extension frame).</summary>
    public Http2FrameType Type => Header.Type;

    /// <summary>The stream identifier, 0 for the connection.</summary>
    public int StreamId => Header.StreamId;

    /// <summary>Octets the frame took on the wire: header plus payload.</summary>
    public int EncodedLength => Http2FrameHeader.Size + Payload.Length;

    /// <summary>True when <paramref name="flag"/> is set.</summary>
    public bool HasFlag(byte flag) => Header.HasFlag(flag);

    /// <summary>
    /// Reads the frame at the start of <paramref name="input"/>. A payload longer than
    /// <paramref name="maxPayloadLength"/> (our SETTINGS_MAX_FRAME_SIZE) is reported as soon as
    /// the header is in, without waiting for the payload.
    /// </summary>
    public static Http2FrameReadStatus TryRead(ReadOnlySpan<byte> input, int maxPayloadLength, out Http2Frame frame)
    {
        frame = default;
        if (input.Length < Http2FrameHeader.Size) return Http2FrameReadStatus.NeedMoreData;
        Http2FrameHeader header = Http2FrameHeader.Read(input);
        if (header.Length > maxPayloadLength) return Http2FrameReadStatus.FrameTooLarge;
        if (input.Length - Http2FrameHeader.Size < header.Length) return Http2FrameReadStatus.NeedMoreData;
        frame = new Http2Frame(header, input.Slice(Http2FrameHeader.Size, header.Length));
        return Http2FrameReadStatus.Frame;
    }

    /// <summary>
    /// Splits the payload of a DATA, HEADERS or PUSH_PROMISE frame (§6.1, §6.2, §6.6): the
    /// optional Pad Length octet, <paramref name="fixedLength"/> octets of fixed fields, the
    /// content, and padding. A payload too short for its fixed fields is FRAME_SIZE_ERROR; padding
    /// that reaches into the fixed fields or beyond the payload is PROTOCOL_ERROR.
    /// </summary>
    public Http2ErrorCode SplitPadded(int fixedLength, out ReadOnlySpan<byte> fixedFields, out ReadOnlySpan<byte> content, out int paddingLength)
    {
        ReadOnlySpan<byte> payload = Payload;
        fixedFields = default;
        content = default;
        paddingLength = 0;
        int padFieldLength = HasFlag(Http2FrameFlags.Padded) ? 1 : 0;
        if (payload.Length < padFieldLength + fixedLength) return Http2ErrorCode.FrameSizeError;
        if (padFieldLength == 1)
        {
            paddingLength = payload[0];
            // The Pad Length octet itself is padding as far as flow control goes (§6.1).
            if (paddingLength > payload.Length - 1 - fixedLength) return Http2ErrorCode.ProtocolError;
        }

        fixedFields = payload.Slice(padFieldLength, fixedLength);
        content = payload[(padFieldLength + fixedLength)..(payload.Length - paddingLength)];
        return Http2ErrorCode.NoError;
    }

    /// <summary>A 31-bit value with the reserved high bit ignored (stream ids, window increments).</summary>
    public static int ReadUInt31(ReadOnlySpan<byte> source) => (int)(BinaryPrimitives.ReadUInt32BigEndian(source) & 0x7fff_ffff);

    /// <summary>A 32-bit error code.</summary>
    public static Http2ErrorCode ReadErrorCode(ReadOnlySpan<byte> source) => (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(source);
}
