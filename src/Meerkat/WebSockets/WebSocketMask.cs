// How this file works: XOR masking of RFC 6455 §5.3. Octet i of the payload is XORed with octet
// (i mod 4) of the masking key. The key is held as a uint in memory order (the 4 key octets read
// with MemoryMarshal), and a payload may be processed in pieces: the caller passes the offset of
// the piece within the payload so that the key is rotated to the right phase. The bulk goes
// through Vector<byte> when the hardware has it, then 8 bytes at a time, then byte by byte.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Meerkat.WebSockets;

/// <summary>Applies (and removes: XOR is its own inverse) a WebSocket masking key.</summary>
internal static class WebSocketMask
{
    private const int KeyLength = 4;
    private const int BitsPerByte = 8;

    /// <summary>Reads a 4-octet masking key into the form <see cref="Apply"/> takes.</summary>
    /// <param name="key">Exactly the 4 key octets as they appear on the wire.</param>
    public static uint ReadKey(ReadOnlySpan<byte> key) => MemoryMarshal.Read<uint>(key[..KeyLength]);

    /// <summary>
    /// XORs <paramref name="source"/> with the key into <paramref name="destination"/> (which may be
    /// the same memory as the source, for in-place masking).
    /// </summary>
    /// <param name="source">Payload octets starting at <paramref name="payloadOffset"/> within the frame payload.</param>
    /// <param name="destination">At least as long as <paramref name="source"/>.</param>
    /// <param name="key">The key from <see cref="ReadKey"/>.</param>
    /// <param name="payloadOffset">Offset of <paramref name="source"/>[0] within the frame payload.</param>
    public static void Apply(ReadOnlySpan<byte> source, Span<byte> destination, uint key, long payloadOffset)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        }

        uint phased = RotateToPhase(key, (int)(payloadOffset & (KeyLength - 1)));
        ulong wide = phased | ((ulong)phased << 32);
        int i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<byte>.Count)
        {
            var mask = Vector.AsVectorByte(new Vector<ulong>(wide));
            for (; i <= source.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                (new Vector<byte>(source[i..]) ^ mask).CopyTo(destination[i..]);
            }
        }

        for (; i <= source.Length - sizeof(ulong); i += sizeof(ulong))
        {
            ulong value = MemoryMarshal.Read<ulong>(source[i..]) ^ wide;
            MemoryMarshal.Write(destination[i..], in value);
        }

        for (; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ KeyByte(phased, i & (KeyLength - 1)));
        }
    }

    /// <summary>Rotates the key so that its first octet in memory is key octet <paramref name="phase"/>.</summary>
    private static uint RotateToPhase(uint key, int phase) => BitConverter.IsLittleEndian
        ? BitOperations.RotateRight(key, phase * BitsPerByte)
        : BitOperations.RotateLeft(key, phase * BitsPerByte);

    private static byte KeyByte(uint phasedKey, int index)
    {
        uint littleEndian = BitConverter.IsLittleEndian ? phasedKey : BinaryPrimitives.ReverseEndianness(phasedKey);
        return (byte)(littleEndian >> (index * BitsPerByte));
    }
}
