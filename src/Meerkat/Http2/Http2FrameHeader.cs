// How this file works: the 9-octet frame header of RFC 9113 §4.1, read and written big-endian.
//   Length (24) | Type (8) | Flags (8) | R (1) | Stream Identifier (31)
// The reserved bit R is ignored on receipt and sent as zero.
using System.Buffers.Binary;

namespace Meerkat.Http2;

/// <summary>The fixed header every HTTP/2 frame starts with (RFC 9113 §4.1).</summary>
internal readonly record struct Http2FrameHeader(int Length, Http2FrameType Type, byte Flags, int StreamId)
{
    /// <summary>Octets in a frame header.</summary>
    public const int Size = 9;

    /// <summary>The largest stream identifier, 2^31-1 (§5.1.1).</summary>
    public const int MaxStreamId = int.MaxValue;

    /// <summary>True when <paramref name="flag"/> (an <see cref="Http2FrameFlags"/> bit) is set.</summary>
    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    /// <summary>Reads a header from the first <see cref="Size"/> octets of <paramref name="source"/>.</summary>
    public static Http2FrameHeader Read(ReadOnlySpan<byte> source)
    {
        int length = source[0] << 16 | source[1] << 8 | source[2];
        int streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(source[5..]) & 0x7fff_ffff);
        return new Http2FrameHeader(length, (Http2FrameType)source[3], source[4], streamId);
    }

    /// <summary>Writes this header to the first <see cref="Size"/> octets of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)(Length >> 16);
        destination[1] = (byte)(Length >> 8);
        destination[2] = (byte)Length;
        destination[3] = (byte)Type;
        destination[4] = Flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], (uint)StreamId & 0x7fff_ffff);
    }
}
