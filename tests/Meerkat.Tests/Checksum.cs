using System.Runtime.InteropServices;

namespace Meerkat.Tests;

/// <summary>A fast order-sensitive checksum for comparing payloads in tests.</summary>
internal static class Checksum
{
    public static ulong Of(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037UL ^ (ulong)data.Length;
        foreach (ulong word in MemoryMarshal.Cast<byte, ulong>(data)) hash = (hash ^ word) * 1099511628211UL;
        foreach (byte b in data[(data.Length & ~7)..]) hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }
}
