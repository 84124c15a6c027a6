using Meerkat.Sntp;

namespace Meerkat.Tests.Sntp;

public class NtpTimestampTests
{
    [Fact]
    public void The_unix_epoch_is_2208988800_seconds_into_era_0()
    {
        var epoch = NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch);
        Assert.Equal(2_208_988_800u, epoch.Seconds);
        Assert.Equal(0u, epoch.Fraction);
        Assert.Equal(DateTimeOffset.UnixEpoch, epoch.ToDateTimeOffset());
    }

    [Fact]
    public void Half_a_second_is_half_the_fraction_range()
    {
        var time = NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMilliseconds(500));
        Assert.Equal(0x8000_0000u, time.Fraction);
    }

    [Theory]
    [InlineData("1968-01-20T03:14:08Z")]
    [InlineData("2000-01-01T00:00:00.1234567Z")]
    [InlineData("2026-12-05T09:43:11.9999999Z")]
    [InlineData("2036-02-07T06:28:15.5Z")]
    [InlineData("2036-02-07T06:28:16Z")]
    [InlineData("2036-02-07T06:28:17.25Z")]
    [InlineData("2104-02-26T09:42:23Z")]
    public void Times_from_1968_to_2104_survive_the_round_trip_within_a_tick(string text)
    {
        var time = DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var back = NtpTimestamp.FromDateTimeOffset(time).ToDateTimeOffset();
        Assert.InRange((back - time).Ticks, -1, 0);
    }

    [Fact]
    public void The_era_boundary_wraps_the_seconds_to_zero()
    {
        var era1 = NtpTimestamp.FromDateTimeOffset(NtpTimestamp.Era1);
        Assert.Equal(0ul, era1.Value);
        Assert.Equal(new DateTimeOffset(2036, 2, 7, 6, 28, 16, TimeSpan.Zero), NtpTimestamp.Era1);
    }

    [Fact]
    public void Differences_are_signed_and_right_across_the_era_boundary()
    {
        var before = NtpTimestamp.FromDateTimeOffset(NtpTimestamp.Era1.AddSeconds(-10));
        var after = NtpTimestamp.FromDateTimeOffset(NtpTimestamp.Era1.AddSeconds(5.25));
        Assert.Equal(TimeSpan.FromSeconds(15.25), after - before);
        Assert.Equal(TimeSpan.FromSeconds(-15.25), before - after);
        var a = NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch);
        Assert.Equal(TimeSpan.FromMilliseconds(-0.5), a - NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMilliseconds(0.5)));
    }

    [Fact]
    public void A_clock_decades_behind_still_gets_the_right_difference()
    {
        // An IoT device that booted in 1970 without a real-time clock asks in 2026: 56 years, inside 68.
        var device = NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch);
        var server = NtpTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) - DateTimeOffset.UnixEpoch, server - device);
    }

    [Fact]
    public void Reads_and_writes_network_byte_order()
    {
        var time = new NtpTimestamp(0x0102_0304_0506_0708);
        var bytes = new byte[8];
        time.Write(bytes);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, bytes);
        Assert.Equal(time, NtpTimestamp.Read(bytes));
        Assert.Equal((0x0102_0304u, 0x0506_0708u), (time.Seconds, time.Fraction));
    }
}
