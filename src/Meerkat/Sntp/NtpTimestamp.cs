using System.Buffers.Binary;

namespace Meerkat.Sntp;

/// <summary>
/// An NTP timestamp (RFC 5905 §6): 32 bits of seconds since 1900-01-01 00:00 UTC and 32 bits of
/// fraction, about 233 picoseconds each. The seconds wrap every 136 years (an "era").
/// </summary>
/// <remarks>
/// Differences between timestamps (<see cref="op_Subtraction"/>) are taken modulo 2^64 and read as
/// signed, so they are right across an era boundary (2036) as long as the two times are within 68
/// years of each other (RFC 5905 §6). <see cref="ToDateTimeOffset"/> places a timestamp in 1968–2104
/// by its top bit (RFC 4330 §3).
/// </remarks>
/// <param name="Value">The 64-bit value: seconds in the high half, fraction in the low half.</param>
public readonly record struct NtpTimestamp(ulong Value)
{
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;

    /// <summary>1900-01-01 00:00 UTC: era 0 begins.</summary>
    public static readonly DateTimeOffset Era0 = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>2036-02-07 06:28:16 UTC: era 1 begins.</summary>
    public static readonly DateTimeOffset Era1 = Era0.AddSeconds(4294967296d);

    /// <summary>The seconds field.</summary>
    public uint Seconds => (uint)(Value >> 32);

    /// <summary>The fraction field, in units of 2^-32 s.</summary>
    public uint Fraction => (uint)Value;

    /// <summary>True for the all-zero timestamp, which means "unknown" on the wire.</summary>
    public bool IsZero => Value == 0;

    /// <summary>The timestamp of <paramref name="time"/> in its era (the seconds wrap after 2036).</summary>
    public static NtpTimestamp FromDateTimeOffset(DateTimeOffset time)
    {
        long ticks = (time - Era0).Ticks;
        long seconds = Math.DivRem(ticks, TicksPerSecond, out long rest);
        if (rest < 0) { seconds--; rest += TicksPerSecond; }
        ulong fraction = (ulong)(((UInt128)(ulong)rest << 32) / TicksPerSecond);
        return new NtpTimestamp(((ulong)(uint)seconds << 32) | fraction);
    }

    /// <summary>The time this timestamp stands for, between 1968 and 2104: a set top bit of the
    /// seconds means era 0 (1968–2036), a clear one era 1 (2036–2104), as RFC 4330 §3 says.</summary>
    public DateTimeOffset ToDateTimeOffset()
    {
        var era = (Seconds & 0x8000_0000u) != 0 ? Era0 : Era1;
        long ticks = (long)Seconds * TicksPerSecond + (long)(((UInt128)Fraction * TicksPerSecond) >> 32);
        return era.AddTicks(ticks);
    }

    /// <summary>The signed time from <paramref name="b"/> to <paramref name="a"/>, modulo an era.</summary>
    public static TimeSpan operator -(NtpTimestamp a, NtpTimestamp b)
    {
        long difference = (long)(a.Value - b.Value);
        long seconds = difference >> 32;
        long fraction = difference & 0xFFFF_FFFF;
        return TimeSpan.FromTicks(seconds * TicksPerSecond + ((fraction * TicksPerSecond) >> 32));
    }

    /// <summary>Reads a timestamp in network byte order.</summary>
    public static NtpTimestamp Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt64BigEndian(source));

    /// <summary>Writes the timestamp in network byte order (8 bytes).</summary>
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    /// <inheritdoc/>
    public override string ToString() => $"{Seconds:X8}.{Fraction:X8}";
}
