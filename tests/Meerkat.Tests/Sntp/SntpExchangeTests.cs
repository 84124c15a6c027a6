using Meerkat.Sntp;

namespace Meerkat.Tests.Sntp;

/// <summary>The SNTP client core without sockets or clocks: requests and replies as bytes, times as values.</summary>
public class SntpExchangeTests
{
    private static readonly DateTimeOffset T1 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
    private const ulong Nonce = 0x1234_5678_9ABC_DEF0;

    [Fact]
    public void Request_is_zero_but_for_version_mode_and_the_nonce()
    {
        var exchange = new SntpExchange();
        var request = new byte[NtpPacket.Size];
        var wait = exchange.WriteRequest(T1, Nonce, request);
        Assert.Equal(0b00_100_011, request[0]);
        Assert.All(request[1..40], b => Assert.Equal(0, b));
        Assert.Equal(Nonce, NtpTimestamp.Read(request.AsSpan(40)).Value);
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        Assert.Equal((SntpState.Waiting, 1), (exchange.State, exchange.Attempts));
    }

    [Fact]
    public void Offset_and_delay_come_from_the_four_timestamps()
    {
        // The local clock is 10 s slow; 20 ms each way; the server takes 5 ms.
        var exchange = Started();
        var t2 = T1 + TimeSpan.FromSeconds(10.020);
        var t3 = t2 + TimeSpan.FromMilliseconds(5);
        var t4 = T1 + TimeSpan.FromMilliseconds(45);
        Assert.Equal(SntpReceiveStatus.Answered, exchange.Receive(Reply(t2, t3), t4));
        var result = exchange.Result!;
        AssertClose(TimeSpan.FromSeconds(10), result.Offset);
        AssertClose(TimeSpan.FromMilliseconds(40), result.RoundTripDelay);
        AssertClose(TimeSpan.Zero, result.ServerTime - t3);
        Assert.Equal(t4, result.LocalTime);
        AssertClose(TimeSpan.Zero, result.CorrectedTime - (t4 + TimeSpan.FromSeconds(10)));
        Assert.Equal((2, 4, 1, "192.0.2.1"), (result.Stratum, result.Version, result.Attempt, result.ReferenceId));
        Assert.Equal(SntpState.Answered, exchange.State);
    }

    [Fact]
    public void Asymmetric_paths_err_by_at_most_half_the_delay()
    {
        // 30 ms out, 10 ms back: the offset is off by (30 - 10) / 2 = 10 ms, within delay / 2 = 20 ms.
        var exchange = Started();
        var t2 = T1 + TimeSpan.FromSeconds(-3) + TimeSpan.FromMilliseconds(30);
        var t3 = t2 + TimeSpan.FromMilliseconds(1);
        var t4 = T1 + TimeSpan.FromMilliseconds(41);
        exchange.Receive(Reply(t2, t3), t4);
        AssertClose(TimeSpan.FromSeconds(-3) + TimeSpan.FromMilliseconds(10), exchange.Result!.Offset);
        AssertClose(TimeSpan.FromMilliseconds(40), exchange.Result.RoundTripDelay);
    }

    [Fact]
    public void Reply_with_a_foreign_origin_is_ignored_and_the_real_one_still_counts()
    {
        var exchange = Started();
        var spoof = Packet(T1, T1) with { Origin = new NtpTimestamp(Nonce + 1) };
        Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(Bytes(spoof), T1));
        Assert.Contains("matches no request", exchange.LastRejection, StringComparison.Ordinal);
        Assert.Equal(SntpState.Waiting, exchange.State);
        Assert.Equal(SntpReceiveStatus.Answered, exchange.Receive(Reply(T1, T1), T1));
    }

    [Theory]
    [InlineData("RATE", false)]
    [InlineData("DENY", true)]
    [InlineData("RSTR", true)]
    public void Kiss_of_death_ends_the_exchange_without_retry(string code, bool stop)
    {
        var exchange = Started();
        Assert.Equal(SntpReceiveStatus.KissOfDeath, exchange.Receive(Bytes(Kiss(code)), T1));
        Assert.Equal((SntpState.KissOfDeath, code), (exchange.State, exchange.KissCode));
        Assert.False(exchange.OnTimeout());
        Assert.Throws<InvalidOperationException>(() => exchange.WriteRequest(T1, Nonce + 1, new byte[NtpPacket.Size]));
        Assert.Equal(stop, new SntpException("x", code).MustStopAsking);
    }

    [Fact]
    public void Kiss_of_death_with_a_foreign_origin_is_ignored()
    {
        var exchange = Started();
        Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(Bytes(Kiss("DENY") with { Origin = new NtpTimestamp(42) }), T1));
        Assert.Equal(SntpState.Waiting, exchange.State);
    }

    [Fact]
    public void Other_kiss_codes_are_ignored()
    {
        var exchange = Started();
        Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(Bytes(Kiss("INIT")), T1));
        Assert.Contains("'INIT'", exchange.LastRejection, StringComparison.Ordinal);
    }

    // The packet arrives as object: NtpPacket is internal and a test method is public.
    public static TheoryData<string, object> Unacceptable => new()
    {
        { "alarm", Packet(T1, T1) with { LeapIndicator = NtpLeapIndicator.Unsynchronized } },
        { "stratum 16", Packet(T1, T1) with { Stratum = 16 } },
        { "client mode", Packet(T1, T1) with { Mode = NtpMode.Client } },
        { "broadcast mode", Packet(T1, T1) with { Mode = NtpMode.Broadcast } },
        { "version 0", Packet(T1, T1) with { Version = 0 } },
        { "version 5", Packet(T1, T1) with { Version = 5 } },
        { "zero transmit", Packet(T1, T1) with { Transmit = default } },
        { "root distance 1.5 s", Packet(T1, T1) with { RootDelayRaw = 1 << 16, RootDispersionRaw = 1 << 16 } },
    };

    [Theory, MemberData(nameof(Unacceptable))]
    public void Unacceptable_replies_are_ignored_with_a_reason(string what, object reply)
    {
        var exchange = Started();
        Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(Bytes((NtpPacket)reply), T1));
        Assert.False(string.IsNullOrEmpty(exchange.LastRejection), what);
        Assert.Equal(SntpState.Waiting, exchange.State);
    }

    [Fact]
    public void Short_datagrams_and_trailing_bytes()
    {
        var whole = Reply(T1, T1);
        for (int length = 0; length < NtpPacket.Size; length++)
        {
            var exchange = Started();
            Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(whole.AsSpan(0, length), T1));
        }
        var withMac = Started();
        Assert.Equal(SntpReceiveStatus.Answered, withMac.Receive(whole.Concat(new byte[20]).ToArray(), T1));
    }

    [Fact]
    public void Retries_back_off_then_time_out()
    {
        var exchange = new SntpExchange(new SntpOptions { Timeout = TimeSpan.FromMilliseconds(100), MaxAttempts = 3 });
        var request = new byte[NtpPacket.Size];
        Assert.Equal(TimeSpan.FromMilliseconds(100), exchange.WriteRequest(T1, 1, request));
        Assert.True(exchange.OnTimeout());
        Assert.Equal(TimeSpan.FromMilliseconds(200), exchange.WriteRequest(T1, 2, request));
        Assert.True(exchange.OnTimeout());
        Assert.Equal(TimeSpan.FromMilliseconds(400), exchange.WriteRequest(T1, 3, request));
        Assert.False(exchange.OnTimeout());
        Assert.Equal(SntpState.TimedOut, exchange.State);
        Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(Bytes(Packet(T1, T1) with { Origin = new NtpTimestamp(3) }), T1));
        Assert.Throws<InvalidOperationException>(() => exchange.WriteRequest(T1, 4, request));
    }

    [Fact]
    public void A_late_answer_to_an_earlier_request_counts_with_that_request_s_send_time()
    {
        var exchange = new SntpExchange(new SntpOptions { MaxAttempts = 2 });
        var request = new byte[NtpPacket.Size];
        exchange.WriteRequest(T1, 111, request);
        exchange.OnTimeout();
        exchange.WriteRequest(T1 + TimeSpan.FromSeconds(1), 222, request);
        var t4 = T1 + TimeSpan.FromSeconds(1.5);
        var reply = Packet(T1 + TimeSpan.FromSeconds(0.75), T1 + TimeSpan.FromSeconds(0.75)) with { Origin = new NtpTimestamp(111) };
        Assert.Equal(SntpReceiveStatus.Answered, exchange.Receive(Bytes(reply), t4));
        Assert.Equal(1, exchange.Result!.Attempt);
        AssertClose(TimeSpan.FromSeconds(1.5), exchange.Result.RoundTripDelay);
        AssertClose(TimeSpan.Zero, exchange.Result.Offset);
    }

    [Fact]
    public void A_duplicate_after_the_answer_is_ignored()
    {
        var exchange = Started();
        exchange.Receive(Reply(T1, T1), T1);
        Assert.Equal(SntpReceiveStatus.Ignored, exchange.Receive(Reply(T1 + TimeSpan.FromHours(1), T1), T1));
        AssertClose(TimeSpan.Zero, exchange.Result!.Offset);
    }

    [Fact]
    public void Options_are_checked()
    {
        Assert.Throws<ArgumentException>(() => new SntpExchange(new SntpOptions { MaxAttempts = 0 }));
        Assert.Throws<ArgumentException>(() => new SntpExchange(new SntpOptions { Timeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new SntpExchange(new SntpOptions { Version = 2 }));
        Assert.Equal(TimeSpan.FromSeconds(7), new SntpOptions().TotalTimeout);
    }

    private static SntpExchange Started()
    {
        var exchange = new SntpExchange();
        exchange.WriteRequest(T1, Nonce, new byte[NtpPacket.Size]);
        return exchange;
    }

    private static NtpPacket Packet(DateTimeOffset t2, DateTimeOffset t3) => new()
    {
        Version = 4,
        Mode = NtpMode.Server,
        Stratum = 2,
        Precision = -20,
        ReferenceId = 0xC000_0201, // 192.0.2.1
        Reference = NtpTimestamp.FromDateTimeOffset(t2 - TimeSpan.FromMinutes(1)),
        Origin = new NtpTimestamp(Nonce),
        Receive = NtpTimestamp.FromDateTimeOffset(t2),
        Transmit = NtpTimestamp.FromDateTimeOffset(t3),
    };

    private static NtpPacket Kiss(string code) => new()
    {
        LeapIndicator = NtpLeapIndicator.Unsynchronized,
        Version = 4,
        Mode = NtpMode.Server,
        Stratum = 0,
        ReferenceId = NtpPacket.KissCodeId(code),
        Origin = new NtpTimestamp(Nonce),
        Transmit = new NtpTimestamp(Nonce),
    };

    private static byte[] Reply(DateTimeOffset t2, DateTimeOffset t3) => Bytes(Packet(t2, t3));

    private static byte[] Bytes(NtpPacket packet)
    {
        var bytes = new byte[NtpPacket.Size];
        packet.Write(bytes);
        return bytes;
    }

    /// <summary>NTP fractions and .NET ticks round differently: a few ticks of slack.</summary>
    private static void AssertClose(TimeSpan expected, TimeSpan actual) =>
        Assert.True(Math.Abs((expected - actual).Ticks) <= 3, $"expected {expected}, got {actual}");
}
