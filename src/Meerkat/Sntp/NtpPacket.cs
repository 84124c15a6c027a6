using System.Buffers.Binary;

namespace Meerkat.Sntp;

/// <summary>
/// The 48-byte NTP packet header (RFC 5905 §7.3, RFC 4330 §4): reading and writing, nothing else.
/// </summary>
/// <remarks>
/// Layout, all fields in network byte order:
/// <code>
///  0  LI(2) VN(3) Mode(3) | Stratum | Poll | Precision
///  4  Root Delay (16.16 seconds)
///  8  Root Dispersion (16.16 seconds)
/// 12  Reference ID
/// 16  Reference Timestamp     24  Origin Timestamp
/// 32  Receive Timestamp       40  Transmit Timestamp
/// </code>
/// Bytes after the header (extension fields, a key identifier and digest) are ignored on reading.
/// </remarks>
internal readonly record struct NtpPacket
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Size = 48;

    private const int RootDelayOffset = 4;
    private const int RootDispersionOffset = 8;
    private const int ReferenceIdOffset = 12;
    private const int ReferenceOffset = 16;
    private const int OriginOffset = 24;
    private const int ReceiveOffset = 32;
    private const int TransmitOffset = 40;

    /// <summary>Leap second warning, or the alarm of an unsynchronized clock.</summary>
    public NtpLeapIndicator LeapIndicator { get; init; }

    /// <summary>The protocol version, 0–7 (4 today; 3 is still common).</summary>
    public int Version { get; init; }

    /// <summary>Client request, server reply, broadcast...</summary>
    public NtpMode Mode { get; init; }

    /// <summary>1 for a primary server, 2–15 for secondary ones, 16 unsynchronized; 0 marks a
    /// Kiss-o'-Death packet (RFC 5905 §7.4).</summary>
    public byte Stratum { get; init; }

    /// <summary>The poll interval, as a power of two in seconds.</summary>
    public sbyte Poll { get; init; }

    /// <summary>The sender's clock precision, as a power of two in seconds.</summary>
    public sbyte Precision { get; init; }

    /// <summary>Round-trip delay to the reference clock, in 16.16 fixed-point seconds.</summary>
    public uint RootDelayRaw { get; init; }

    /// <summary>Dispersion to the reference clock, in 16.16 fixed-point seconds.</summary>
    public uint RootDispersionRaw { get; init; }

    /// <summary>The reference identifier: four ASCII characters at stratum 0 and 1 (a kiss code or a
    /// clock source), else an IPv4 address or the hash of an IPv6 one.</summary>
    public uint ReferenceId { get; init; }

    /// <summary>When the sender's clock was last set.</summary>
    public NtpTimestamp Reference { get; init; }

    /// <summary>In a reply: the transmit timestamp of the request it answers (T1).</summary>
    public NtpTimestamp Origin { get; init; }

    /// <summary>In a reply: when the server received the request (T2).</summary>
    public NtpTimestamp Receive { get; init; }

    /// <summary>When the packet left its sender (T3 in a reply).</summary>
    public NtpTimestamp Transmit { get; init; }

    /// <summary><see cref="RootDelayRaw"/> as a time span.</summary>
    public TimeSpan RootDelay => FromShort(RootDelayRaw);

    /// <summary><see cref="RootDispersionRaw"/> as a time span.</summary>
    public TimeSpan RootDispersion => FromShort(RootDispersionRaw);

    /// <summary>The reference identifier as text: ASCII at stratum 0 (a kiss code) and 1 (a clock
    /// source such as <c>GPS</c>), a dotted IPv4 address otherwise.</summary>
    public string ReferenceIdText
    {
        get
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, ReferenceId);
            if (Stratum <= 1)
            {
                int length = bytes.IndexOf((byte)0) is var end and >= 0 ? end : 4;
                var chars = new char[length];
                for (int i = 0; i < length; i++) chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '?';
                return new string(chars);
            }
            return $"{bytes[0]}.{bytes[1]}.{bytes[2]}.{bytes[3]}";
        }
    }

    /// <summary>Reads a packet; false when <paramref name="data"/> is shorter than <see cref="Size"/>.
    /// Field values are not judged here (see <see cref="SntpExchange"/>).</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out NtpPacket packet)
    {
        if (data.Length < Size)
        {
            packet = default;
            return false;
        }
        packet = new NtpPacket
        {
            LeapIndicator = (NtpLeapIndicator)(data[0] >> 6),
            Version = (data[0] >> 3) & 0x7,
            Mode = (NtpMode)(data[0] & 0x7),
            Stratum = data[1],
            Poll = (sbyte)data[2],
            Precision = (sbyte)data[3],
            RootDelayRaw = BinaryPrimitives.ReadUInt32BigEndian(data[RootDelayOffset..]),
            RootDispersionRaw = BinaryPrimitives.ReadUInt32BigEndian(data[RootDispersionOffset..]),
            ReferenceId = BinaryPrimitives.ReadUInt32BigEndian(data[ReferenceIdOffset..]),
            Reference = NtpTimestamp.Read(data[ReferenceOffset..]),
            Origin = NtpTimestamp.Read(data[OriginOffset..]),
            Receive = NtpTimestamp.Read(data[ReceiveOffset..]),
            Transmit = NtpTimestamp.Read(data[TransmitOffset..]),
        };
        return true;
    }

    /// <summary>Writes the packet's <see cref="Size"/> bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short, or a field is out of range.</exception>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < Size) throw new ArgumentException($"an NTP packet needs {Size} bytes", nameof(destination));
        if (Version is < 0 or > 7) throw new ArgumentException($"NTP version {Version} does not fit in 3 bits", nameof(destination));
        destination[0] = (byte)(((int)LeapIndicator & 0x3) << 6 | Version << 3 | ((int)Mode & 0x7));
        destination[1] = Stratum;
        destination[2] = (byte)Poll;
        destination[3] = (byte)Precision;
        BinaryPrimitives.WriteUInt32BigEndian(destination[RootDelayOffset..], RootDelayRaw);
        BinaryPrimitives.WriteUInt32BigEndian(destination[RootDispersionOffset..], RootDispersionRaw);
        BinaryPrimitives.WriteUInt32BigEndian(destination[ReferenceIdOffset..], ReferenceId);
        Reference.Write(destination[ReferenceOffset..]);
        Origin.Write(destination[OriginOffset..]);
        Receive.Write(destination[ReceiveOffset..]);
        Transmit.Write(destination[TransmitOffset..]);
    }

    /// <summary>The four ASCII characters of a kiss code as a reference identifier.</summary>
    public static uint KissCodeId(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (code.Length is 0 or > 4) throw new ArgumentException("a kiss code has one to four ASCII characters", nameof(code));
        uint id = 0;
        for (int i = 0; i < 4; i++) id = id << 8 | (i < code.Length ? (byte)code[i] : 0u);
        return id;
    }

    private static TimeSpan FromShort(uint value) => TimeSpan.FromTicks((long)(((ulong)value * TimeSpan.TicksPerSecond) >> 16));
}
