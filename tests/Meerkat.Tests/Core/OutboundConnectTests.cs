using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Meerkat.Tests.Core;

/// <summary>
/// Outbound connections to names with several addresses: every address tried, IPv6 and IPv4
/// raced (Happy Eyeballs, RFC 8305), the resolve timeout, and the lifecycle around them. Names are
/// mapped to loopback addresses by <see cref="ManagerOptions.Resolver"/>; an address that never
/// answers is a <see cref="BlackHole"/>.
/// </summary>
public class OutboundConnectTests
{
    private const string Name = "dual.test";
    private static readonly IPAddress V4 = IPAddress.Loopback;
    private static readonly IPAddress V6 = IPAddress.IPv6Loopback;
    private static readonly IPAddress OtherV4 = IPAddress.Parse("127.0.0.2");
    private static readonly TimeSpan AttemptDelay = TimeSpan.FromMilliseconds(250);

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Dead_ipv6_first_falls_back_to_ipv4_after_the_attempt_delay(PollerBackend backend) =>
        RaceAgainstHole(backend, dead: V6, live: V4);

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Dead_ipv4_first_falls_back_to_ipv6_after_the_attempt_delay(PollerBackend backend) =>
        RaceAgainstHole(backend, dead: V4, live: V6);

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Dead_first_address_of_one_family_falls_back_to_the_second(PollerBackend backend) =>
        RaceAgainstHole(backend, dead: OtherV4, live: V4);

    private static void RaceAgainstHole(PollerBackend backend, IPAddress dead, IPAddress live)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend, o => o.Resolver = Resolve([dead, live]));
        var (listener, hole) = ListenBesideHole(manager, live, dead, log.Handler);
        using var _ = hole;
        int port = listener.LocalEndPoint!.Port;
        int pendingDuringRace = -1;
        var clock = Stopwatch.StartNew();
        var client = manager.Connect($"tcp://{Name}:{port}", log.Handler);
        // Before the attempt delay, the connector's first attempt must be stuck at the hole.
        manager.AddTimer(AttemptDelay / 2, TimeSpan.Zero, _ => pendingDuringRace = hole.PendingAttempts());
        manager.Until(() => client.State == ConnectionState.Connected && log.Count(EventKind.Accept) == 1, what: "the fallback connection");
        var elapsed = clock.Elapsed;

        Assert.Equal(1, pendingDuringRace);
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect], log.Of(client));
        Assert.Equal(new IPEndPoint(live, port), client.RemoteEndPoint);
        Assert.True(elapsed >= AttemptDelay - TimeSpan.FromMilliseconds(5), $"connected after {elapsed.TotalMilliseconds} ms, before the attempt delay");
        Assert.Equal(0, hole.PendingAttempts());
        var accepted = manager.Connections.Single(c => c.Role == ConnectionRole.Accepted);
        Assert.Equal(3, manager.Connections.Count);
        Assert.Equal(client.LocalEndPoint!.Port, accepted.RemoteEndPoint!.Port);

        string? received = null;
        accepted.Handler = (c, e) => { log.Record(c, e); if (e.Kind == EventKind.Read) received = Encoding.ASCII.GetString(c.Received); };
        Assert.True(client.Send("over the winner"u8));
        manager.Until(() => received == "over the winner", what: "bytes over the winning socket");
        client.Close();
        listener.Close();
        manager.Until(() => accepted.State == ConnectionState.Closed, what: "the accepted side to close");
        log.AssertBalanced();
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Both_addresses_alive_the_first_wins_and_the_second_is_never_tried(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend, o => o.Resolver = Resolve([V6, V4]));
        var (six, four) = ListenOnBoth(manager, log.Handler);
        var client = manager.Connect($"tcp://{Name}:{six.LocalEndPoint!.Port}", log.Handler);
        manager.Until(() => client.State == ConnectionState.Connected && log.Count(EventKind.Accept) == 1, what: "the connection");
        Assert.Equal(V6, client.RemoteEndPoint!.Address);
        var accepted = manager.Connections.Single(c => c.Role == ConnectionRole.Accepted);
        Assert.Equal(V6, accepted.LocalEndPoint!.Address);
        Assert.Equal(ConnectionState.Connected, four.State);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Refused_first_address_hands_over_at_once_without_waiting_the_delay(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend, o =>
        {
            o.Resolver = Resolve([V6, V4]);
            o.ConnectionAttemptDelay = TimeSpan.FromSeconds(2);
        });
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        int port = listener.LocalEndPoint!.Port; // nothing listens on [::1] at this port: refused at once
        var clock = Stopwatch.StartNew();
        var client = manager.Connect($"tcp://{Name}:{port}", log.Handler);
        manager.Until(() => client.State == ConnectionState.Connected, what: "the connection");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.9), $"took {clock.Elapsed.TotalMilliseconds} ms: the refusal did not hand over at once");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect], log.Of(client));
        Assert.Equal(new IPEndPoint(V4, port), client.RemoteEndPoint);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Every_address_refused_is_one_error_naming_each(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend, o => o.Resolver = Resolve([V4, V6]));
        int port = UnusedPort();
        var client = manager.Connect($"tcp://{Name}:{port}", log.Handler);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the failed connection to close");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Error, EventKind.Close], log.Of(client));
        string message = log.Errors.Single().Message;
        Assert.Contains($"{Name}:{port}", message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}: connection refused", message, StringComparison.Ordinal);
        Assert.Contains($"[::1]:{port}: connection refused", message, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Connect_timeout_during_the_race_fails_once_and_closes_every_attempt(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend, o =>
        {
            o.Resolver = Resolve([V6, V4]);
            o.ConnectTimeout = TimeSpan.FromSeconds(1);
            o.ConnectionAttemptDelay = TimeSpan.FromMilliseconds(100);
        });
        var (six, four) = TwoHoles();
        using var _ = six;
        using var __ = four;
        var client = manager.Connect($"tcp://{Name}:{six.EndPoint.Port}", log.Handler);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the connect timeout");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Error, EventKind.Close], log.Of(client));
        Assert.IsType<TimeoutException>(log.Errors.Single());
        AssertNoAttemptLeft(six, four);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Closing_during_the_race_raises_close_only_and_closes_every_attempt(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend, o => o.Resolver = Resolve([V6, V4]));
        var (six, four) = TwoHoles();
        using var _ = six;
        using var __ = four;
        var client = manager.Connect($"tcp://{Name}:{six.EndPoint.Port}", log.Handler);
        manager.Until(() => six.PendingAttempts() == 1 && four.PendingAttempts() == 1, what: "both attempts in flight");
        client.Close();
        manager.Until(() => client.State == ConnectionState.Closed, what: "the close");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Close], log.Of(client));
        AssertNoAttemptLeft(six, four);
        Assert.Empty(manager.Connections);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Dispose_during_the_race_closes_the_connection_and_its_attempts(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        var manager = Loop.Create(backend, o => o.Resolver = Resolve([V4, V6]));
        var (six, four) = TwoHoles();
        using var _ = six;
        using var __ = four;
        var client = manager.Connect($"tcp://{Name}:{six.EndPoint.Port}", log.Handler);
        manager.Until(() => four.PendingAttempts() == 1, what: "the first attempt in flight");
        manager.Dispose();
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Close], log.Of(client));
        AssertNoAttemptLeft(six, four);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Resolve_timeout_fails_naming_the_host_and_the_timeout_and_ignores_a_late_answer(PollerBackend backend)
    {
        var log = new EventLog();
        // Continuations run inside SetResult: the connector posts the late answer before it returns.
        var answer = new TaskCompletionSource<IPAddress[]>();
        var cancelled = new TaskCompletionSource();
        using var manager = Loop.Create(backend, o =>
        {
            o.ResolveTimeout = TimeSpan.FromMilliseconds(200);
            o.Resolver = (host, token) =>
            {
                token.Register(() => cancelled.TrySetResult());
                return answer.Task;
            };
        });
        var client = manager.Connect("tcp://slow.test:80", log.Handler);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the resolve timeout");
        Assert.Equal([EventKind.Open, EventKind.Error, EventKind.Close], log.Of(client));
        var error = Assert.IsType<TimeoutException>(log.Errors.Single());
        Assert.Contains("'slow.test'", error.Message, StringComparison.Ordinal);
        Assert.Contains("0.2 s", error.Message, StringComparison.Ordinal);
        Assert.True(cancelled.Task.IsCompleted, "the resolver's token was not cancelled");

        answer.SetResult([V4]);
        manager.Poll(0);
        Assert.Equal([EventKind.Open, EventKind.Error, EventKind.Close], log.Of(client));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Resolver_with_no_address_or_an_exception_fails_naming_the_host(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend, o => o.Resolver = (host, _) =>
            host == "empty.test" ? Task.FromResult<IPAddress[]>([]) : throw new InvalidOperationException("resolver is broken"));
        var empty = manager.Connect("tcp://empty.test:80", log.Handler);
        var broken = manager.Connect("tcp://broken.test:80", log.Handler);
        manager.Until(() => empty.State == ConnectionState.Closed && broken.State == ConnectionState.Closed, what: "both failures");
        Assert.Equal([EventKind.Open, EventKind.Error, EventKind.Close], log.Of(empty));
        Assert.Equal([EventKind.Open, EventKind.Error, EventKind.Close], log.Of(broken));
        Assert.Contains(log.Errors, e => e.Message.Contains("'empty.test'", StringComparison.Ordinal));
        Assert.Contains(log.Errors, e => e.Message.Contains("'broken.test'", StringComparison.Ordinal) && e.Message.Contains("resolver is broken", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Outbound_ipv6_tcp_and_udp_to_the_loopback_literal(PollerBackend backend)
    {
        RequireIpv6();
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        string? echoed = null;
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.Read && c.Role == ConnectionRole.Accepted) { c.Send(e.Data); c.Consume(e.Data.Length); }
            if (e.Kind == EventKind.Read && c.Role == ConnectionRole.Listener) c.Send(e.Data);
            if (e.Kind == EventKind.Read && c.Role == ConnectionRole.Outbound) echoed = (echoed ?? "") + Encoding.ASCII.GetString(e.Data);
            if (e.Kind == EventKind.Connect && c.IsDatagram) c.Send("udp6"u8);
        };
        var tcp = manager.Listen("tcp://[::1]:0", log.Handler);
        var client = manager.Connect($"tcp://[::1]:{tcp.LocalEndPoint!.Port}", log.Handler);
        client.Send("six"u8);
        manager.Until(() => echoed == "six", what: "the TCP echo over IPv6");
        Assert.Equal(V6, client.RemoteEndPoint!.Address);
        Assert.Equal(V6, client.LocalEndPoint!.Address);

        echoed = null;
        var udp = manager.Listen("udp://[::1]:0", log.Handler);
        var datagrams = manager.Connect($"udp://[::1]:{udp.LocalEndPoint!.Port}", log.Handler);
        manager.Until(() => echoed == "udp6", what: "the UDP echo over IPv6");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect, EventKind.Read], log.Of(datagrams));
        Assert.Equal(V6, datagrams.RemoteEndPoint!.Address);
    }

    // ------------------------------------------------------------------ helpers

    private static HostResolver Resolve(IPAddress[] addresses) =>
        (host, _) => host == Name ? Task.FromResult(addresses) : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));

    private static void RequireIpv6()
    {
        if (!Socket.OSSupportsIPv6) Assert.Skip("this machine has no IPv6");
    }

    private static string Url(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    /// <summary>A Meerkat listener on <paramref name="live"/> and a hole on <paramref name="dead"/>, same port.</summary>
    private static (Connection Listener, BlackHole Hole) ListenBesideHole(Manager manager, IPAddress live, IPAddress dead, ConnectionHandler handler)
    {
        for (int i = 0; i < 20; i++)
        {
            var listener = manager.Listen($"tcp://{Url(live)}:0", handler);
            if (BlackHole.TryOpen(dead, listener.LocalEndPoint!.Port) is { } hole) return (listener, hole);
            listener.Close();
            manager.Poll(0);
        }
        throw new InvalidOperationException("found no port free on both addresses");
    }

    private static (Connection Six, Connection Four) ListenOnBoth(Manager manager, ConnectionHandler handler)
    {
        for (int i = 0; i < 20; i++)
        {
            var six = manager.Listen("tcp://[::1]:0", handler);
            try
            {
                return (six, manager.Listen($"tcp://127.0.0.1:{six.LocalEndPoint!.Port}", handler));
            }
            catch (SocketException)
            {
                six.Close();
                manager.Poll(0);
            }
        }
        throw new InvalidOperationException("found no port free on both addresses");
    }

    private static (BlackHole Six, BlackHole Four) TwoHoles()
    {
        for (int i = 0; i < 20; i++)
        {
            var six = BlackHole.TryOpen(V6, 0)!;
            if (BlackHole.TryOpen(V4, six.EndPoint.Port) is { } four) return (six, four);
            six.Dispose();
        }
        throw new InvalidOperationException("found no port free on both addresses");
    }

    /// <summary>No connection attempt towards either hole is left in SYN_SENT. The attempts were closed
    /// when the connection was released; the kernel's table is read for up to 5 s (a CI run once saw one
    /// entry right after the close; a leaked attempt would stay for the two minutes of SYN retries).</summary>
    private static void AssertNoAttemptLeft(BlackHole six, BlackHole four)
    {
        SpinWait.SpinUntil(() => six.PendingAttempts() == 0 && four.PendingAttempts() == 0, TimeSpan.FromSeconds(5));
        Assert.Equal((0, 0), (six.PendingAttempts(), four.PendingAttempts()));
    }

    private static int UnusedPort()
    {
        using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(V6, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
