using Meerkat.Sntp;

namespace Meerkat.Tests.Sntp;

public class NtpPacketTests
{
    /// <summary>A reply as chrony 4.3 sent it from a loopback test server (LI 0, VN 4, mode 4,
    /// stratum 10, reference 127.127.1.1), with made-up timestamps.</summary>
    private static readonly byte[] ChronyReply = Convert.FromHexString(
        "240a00e6" + "00000000" + "00000028" + "7f7f0101" +
        "eabc1b2f00000000" + "eabc1b32a7640000" + "eabc1b32a7700000" + "eabc1b32a7800000");

    [Fact]
    public void Reads_every_field()
    {
        Assert.True(NtpPacket.TryRead(ChronyReply, out var packet));
        Assert.Equal(NtpLeapIndicator.NoWarning, packet.LeapIndicator);
        Assert.Equal(4, packet.Version);
        Assert.Equal(NtpMode.Server, packet.Mode);
        Assert.Equal(10, packet.Stratum);
        Assert.Equal(0, packet.Poll);
        Assert.Equal(-26, packet.Precision);
        Assert.Equal(TimeSpan.Zero, packet.RootDelay);
        Assert.Equal(TimeSpan.FromTicks(0x28 * TimeSpan.TicksPerSecond >> 16), packet.RootDispersion);
        Assert.Equal("127.127.1.1", packet.ReferenceIdText);
        Assert.Equal(0xeabc1b2f00000000ul, packet.Reference.Value);
        Assert.Equal(0xeabc1b32a7640000ul, packet.Origin.Value);
        Assert.Equal(0xeabc1b32a7700000ul, packet.Receive.Value);
        Assert.Equal(0xeabc1b32a7800000ul, packet.Transmit.Value);
    }

    [Fact]
    public void Writes_what_it_reads()
    {
        NtpPacket.TryRead(ChronyReply, out var packet);
        var written = new byte[NtpPacket.Size];
        packet.Write(written);
        Assert.Equal(ChronyReply, written);
    }

    [Fact]
    public void Every_truncation_is_refused()
    {
        for (int length = 0; length < NtpPacket.Size; length++)
            Assert.False(NtpPacket.TryRead(ChronyReply.AsSpan(0, length), out _), $"{length} bytes were read as a packet");
    }

    [Fact]
    public void Trailing_bytes_such_as_a_key_id_and_digest_are_ignored()
    {
        var withMac = ChronyReply.Concat(new byte[20].Select((_, i) => (byte)(i + 1))).ToArray();
        Assert.True(NtpPacket.TryRead(withMac, out var packet));
        NtpPacket.TryRead(ChronyReply, out var plain);
        Assert.Equal(plain, packet);
    }

    [Fact]
    public void Header_bits_pack_leap_version_and_mode()
    {
        var bytes = new byte[NtpPacket.Size];
        new NtpPacket { LeapIndicator = NtpLeapIndicator.Unsynchronized, Version = 3, Mode = NtpMode.Client }.Write(bytes);
        Assert.Equal(0b11_011_011, bytes[0]);
        Assert.All(bytes[1..], b => Assert.Equal(0, b));
        Assert.Throws<ArgumentException>(() => new NtpPacket { Version = 8 }.Write(bytes));
        Assert.Throws<ArgumentException>(() => new NtpPacket().Write(new byte[47]));
    }

    [Fact]
    public void Reference_id_is_text_at_stratum_0_and_1_and_an_address_above()
    {
        Assert.Equal("RATE", new NtpPacket { Stratum = 0, ReferenceId = NtpPacket.KissCodeId("RATE") }.ReferenceIdText);
        Assert.Equal("GPS", new NtpPacket { Stratum = 1, ReferenceId = NtpPacket.KissCodeId("GPS") }.ReferenceIdText);
        Assert.Equal("71.80.83.0", new NtpPacket { Stratum = 2, ReferenceId = NtpPacket.KissCodeId("GPS") }.ReferenceIdText);
        Assert.Equal("?A?", new NtpPacket { Stratum = 0, ReferenceId = 0x0141_FF00 }.ReferenceIdText);
    }
}
