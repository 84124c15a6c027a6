using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meerkat.Sntp;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Sntp;

/// <summary>SNTP queries on the loop: chrony as the real server, a scripted one for what chrony
/// will not do on demand (Kiss-o'-Death, spoofed replies, silence).</summary>
public class SntpQueryTests
{
    /// <summary>For a server that stays silent: the whole query takes 0.1 + 0.2 + 0.4 s.</summary>
    private static readonly SntpOptions Quick = new() { Timeout = TimeSpan.FromMilliseconds(100), MaxAttempts = 3 };

    /// <summary>For a server that answers: no retry may fire before its answer, even on a loaded machine.</summary>
    private static readonly SntpOptions Patient = new() { Timeout = TimeSpan.FromSeconds(5), MaxAttempts = 3 };

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Chrony_gives_its_stratum_and_an_offset_within_the_delay(PollerBackend backend)
    {
        using var chrony = Chrony.Start();
        using var manager = Loop.Create(backend);
        var (result, error) = Run(manager, chrony.Server, SntpOptions.Default.With(o => o.Timeout = TimeSpan.FromSeconds(2)));
        Assert.Null(error);
        Assert.Equal(10, result!.Stratum);
        Assert.Equal(4, result.Version);
        Assert.Equal("127.127.1.1", result.ReferenceId);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, chrony.Port), result.Server);
        // chrony serves this machine's own clock: the true offset is 0, and the measured one is off
        // by at most half the round trip (plus the clocks' reading granularity).
        Assert.True(result.Offset.Duration() <= result.RoundTripDelay / 2 + TimeSpan.FromMilliseconds(1),
            $"offset {result.Offset.TotalMilliseconds} ms, delay {result.RoundTripDelay.TotalMilliseconds} ms");
        Assert.True((result.ServerTime - DateTimeOffset.UtcNow).Duration() < TimeSpan.FromSeconds(5), $"server time {result.ServerTime:O}");
    }

    [Fact]
    public async Task QueryAsync_against_chrony_from_another_thread()
    {
        using var chrony = Chrony.Start();
        using var manager = new Manager(new ManagerOptions { CheckInvariants = true });
        var loop = manager.RunAsync();
        var result = await manager.QuerySntpAsync(chrony.Server, new SntpOptions { Timeout = TimeSpan.FromSeconds(2) }, TestContext.Current.CancellationToken);
        Assert.Equal(10, result.Stratum);
        Assert.Equal(1, result.Attempt);
        manager.Stop();
        await loop;
    }

    [Theory]
    [InlineData("RATE", false)]
    [InlineData("DENY", true)]
    [InlineData("RSTR", true)]
    public void Kiss_of_death_is_reported_and_nothing_more_is_sent(string code, bool mustStop)
    {
        using var server = new FakeNtpServer((request, _) => [FakeNtpServer.Kiss(request, code)]);
        using var manager = Loop.Create(PollerBackend.Auto);
        var (result, error) = Run(manager, server.Server, Patient, out var connection);
        Assert.Null(result);
        var kiss = Assert.IsType<SntpException>(error);
        Assert.Equal((code, mustStop), (kiss.KissCode, kiss.MustStopAsking));
        Assert.Contains(code, kiss.Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionState.Closed, connection.State);
        Assert.Single(server.Requests);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Spoofed_replies_are_ignored_and_the_real_answer_wins(PollerBackend backend)
    {
        using var server = new FakeNtpServer((request, _) =>
        [
            FakeNtpServer.Answer(request) with { Origin = new NtpTimestamp(request.Transmit.Value ^ 1), Transmit = NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(5)) },
            FakeNtpServer.Kiss(request, "DENY") with { Origin = new NtpTimestamp(0) },
            FakeNtpServer.Answer(request),
        ]);
        using var manager = Loop.Create(backend);
        var (result, error) = Run(manager, server.Server, Patient);
        Assert.Null(error);
        Assert.True(result!.Offset.Duration() < TimeSpan.FromSeconds(1), $"offset {result.Offset}: a spoofed reply was used");
        Assert.Single(server.Requests);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_silent_server_gets_every_attempt_then_the_query_times_out(PollerBackend backend)
    {
        using var server = new FakeNtpServer((_, _) => []);
        using var manager = Loop.Create(backend);
        var clock = Stopwatch.StartNew();
        var (result, error) = Run(manager, server.Server, Quick);
        Assert.Null(result);
        var timeout = Assert.IsType<TimeoutException>(error);
        Assert.True(clock.Elapsed >= Quick.TotalTimeout - TimeSpan.FromMilliseconds(5), $"gave up after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.Contains(server.Server, timeout.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempts", timeout.Message, StringComparison.Ordinal);
        manager.Until(() => server.Requests.Count == 3, what: "the third request to reach the server");
        Assert.Equal(3, server.Requests.Select(r => r.Transmit).Distinct().Count());
        Assert.All(server.Requests, r => Assert.Equal((NtpMode.Client, 4), (r.Mode, r.Version)));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_retry_is_answered(PollerBackend backend)
    {
        using var server = new FakeNtpServer((request, index) => index == 0 ? [] : [FakeNtpServer.Answer(request)]);
        using var manager = Loop.Create(backend);
        // The first attempt is lost and waits out its timeout; the second is answered at once. A busy
        // machine (CI) once took over 300 ms to carry that answer, a third request went out meanwhile,
        // and the late answer still won: 2 s leaves the exact count to the behaviour, not to the load.
        var (result, error) = Run(manager, server.Server, new SntpOptions { Timeout = TimeSpan.FromSeconds(2), MaxAttempts = 3 });
        Assert.Null(error);
        Assert.Equal(2, result!.Attempt);
        Assert.Equal(2, server.Requests.Count);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_port_without_a_server_fails_fast_as_refused(PollerBackend backend)
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        using var manager = Loop.Create(backend);
        var (_, error) = Run(manager, $"127.0.0.1:{port}", new SntpOptions { Timeout = TimeSpan.FromSeconds(5) });
        var failure = Assert.IsType<MeerkatException>(error);
        Assert.Contains("refused", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Ipv6_server_and_a_resolved_name(PollerBackend backend)
    {
        if (!Socket.OSSupportsIPv6) Assert.Skip("this machine has no IPv6");
        using var server = new FakeNtpServer((request, _) => [FakeNtpServer.Answer(request)], IPAddress.IPv6Loopback);
        using var manager = Loop.Create(backend, o => o.Resolver = (host, _) => Task.FromResult(host == "time.test" ? new[] { IPAddress.IPv6Loopback } : []));
        var (byAddress, error) = Run(manager, server.Server, Patient);
        Assert.Null(error);
        Assert.Equal(server.EndPoint, byAddress!.Server);
        var (byName, nameError) = Run(manager, $"time.test:{server.EndPoint.Port}", Patient);
        Assert.Null(nameError);
        Assert.Equal(server.EndPoint, byName!.Server);
    }

    [Fact]
    public void Closing_the_query_reports_it_cancelled()
    {
        using var server = new FakeNtpServer((_, _) => []);
        using var manager = Loop.Create(PollerBackend.Auto);
        Exception? error = null;
        int calls = 0;
        var connection = manager.QuerySntp(server.Server, (_, e) => { calls++; error = e; });
        manager.Until(() => server.Requests.Count == 1, what: "the request");
        connection.Close();
        manager.Until(() => calls > 0, what: "the report");
        manager.Poll(0);
        Assert.Equal(1, calls);
        Assert.IsType<OperationCanceledException>(error);
    }

    [Fact]
    public async Task QueryAsync_cancelled_by_its_token()
    {
        using var server = new FakeNtpServer((_, _) => []);
        using var manager = new Manager(new ManagerOptions { CheckInvariants = true });
        var loop = manager.RunAsync();
        using var cancel = new CancellationTokenSource();
        var query = manager.QuerySntpAsync(server.Server, new SntpOptions { Timeout = TimeSpan.FromSeconds(30) }, cancel.Token);
        while (server.Requests.Count == 0 && !query.IsCompleted) await Task.Delay(5, TestContext.Current.CancellationToken);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query);
        manager.Stop();
        await loop;
    }

    [Fact]
    public async Task QueryAsync_fails_when_the_manager_is_disposed_before_its_start_runs()
    {
        using var server = new FakeNtpServer((_, _) => []);
        var manager = new Manager(new ManagerOptions { CheckInvariants = true });
        var query = manager.QuerySntpAsync(server.Server);   // posted; no loop runs it
        manager.Dispose();
        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => query.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.Contains("SNTP", error.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task QueryAsync_on_a_disposed_manager_fails_at_once()
    {
        var manager = new Manager();
        manager.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => manager.QuerySntpAsync("127.0.0.1"));
    }

    [Fact]
    public void Server_addresses_are_parsed_with_port_123_by_default()
    {
        Assert.Equal(new NetworkAddress("udp", "pool.ntp.org", 123), SntpExtensions.ParseServer("pool.ntp.org"));
        Assert.Equal(new NetworkAddress("udp", "10.0.0.1", 1123), SntpExtensions.ParseServer("10.0.0.1:1123"));
        Assert.Equal(new NetworkAddress("udp", "::1", 123), SntpExtensions.ParseServer("::1"));
        Assert.Equal(new NetworkAddress("udp", "::1", 4123), SntpExtensions.ParseServer("[::1]:4123"));
        Assert.Throws<ArgumentException>(() => SntpExtensions.ParseServer("ntp://pool.ntp.org"));
        Assert.Throws<ArgumentException>(() => SntpExtensions.ParseServer("host:99999"));
        Assert.Throws<ArgumentException>(() => SntpExtensions.ParseServer(" "));
    }

    private static (SntpResult? Result, Exception? Error) Run(Manager manager, string server, SntpOptions options) =>
        Run(manager, server, options, out _);

    private static (SntpResult? Result, Exception? Error) Run(Manager manager, string server, SntpOptions options, out Connection connection)
    {
        (SntpResult?, Exception?)? outcome = null;
        int calls = 0;
        connection = manager.QuerySntp(server, (result, error) => { calls++; outcome = (result, error); }, options);
        manager.Until(() => outcome is not null, what: $"the SNTP query to {server}");
        var query = connection;
        manager.Until(() => query.State == ConnectionState.Closed, what: "the query's connection to close");
        Assert.Equal(1, calls);
        return outcome!.Value;
    }
}

internal static class SntpOptionsExtensions
{
    public static SntpOptions With(this SntpOptions options, Action<SntpOptions> change)
    {
        var copy = new SntpOptions { Timeout = options.Timeout, MaxAttempts = options.MaxAttempts, Version = options.Version, MaxRootDistance = options.MaxRootDistance };
        change(copy);
        return copy;
    }
}
