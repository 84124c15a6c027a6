using System.Net;
using System.Net.Sockets;

namespace Meerkat.Tests.Core;

public class LifecycleTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Listener_binds_port_zero_and_reports_the_bound_port(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        var listener = manager.Listen("tcp://127.0.0.1:0", null);
        Assert.NotEqual(0, listener.LocalEndPoint!.Port);
        var v6 = manager.Listen("tcp://[::1]:0", null);
        Assert.Equal(IPAddress.IPv6Loopback, v6.LocalEndPoint!.Address);
        Assert.NotEqual(0, v6.LocalEndPoint.Port);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Normal_close_by_the_server_balances_both_sides(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        log.Next = (c, e) => { if (c.Role == ConnectionRole.Accepted && e.Kind == EventKind.Accept) c.Close(); };
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        var client = manager.Connect($"tcp://127.0.0.1:{listener.LocalEndPoint!.Port}", log.Handler);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the client to see the server close");
        listener.Close();
        manager.Poll(0);
        log.AssertBalanced();
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect, EventKind.Close], log.Of(client));
        Assert.Equal(3, log.Count(EventKind.Close));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Peer_close_is_seen_as_close(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(listener.LocalEndPoint!);
        peer.Send("hello"u8);
        peer.Shutdown(SocketShutdown.Send);
        manager.Until(() => log.Count(EventKind.Close) == 1, what: "the accepted connection to close");
        log.AssertBalanced(listener);
        Assert.Empty(log.Errors);
        Assert.Equal(1, log.Count(EventKind.Read));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Peer_reset_raises_error_then_close(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        Connection? accepted = null;
        log.Next = (c, e) => { if (e.Kind == EventKind.Accept) accepted = c; };
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(listener.LocalEndPoint!);
        manager.Until(() => accepted is not null, what: "the accept");
        // Unread data in the peer's receive queue plus linger 0 makes the kernel send a reset.
        accepted!.Send(new byte[1000]);
        manager.Poll(0);
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();
        accepted.Send(new byte[1000]);
        manager.Until(() => accepted.State == ConnectionState.Closed, what: "the reset to close the connection");
        log.AssertBalanced(listener);
        var kinds = log.Of(accepted);
        Assert.Equal(EventKind.Close, kinds[^1]);
        Assert.Contains(log.Errors, e => e.Message.Contains("reset", StringComparison.Ordinal) || e.Message.Contains("Shutdown", StringComparison.Ordinal) || e.Message.Contains("Broken", StringComparison.OrdinalIgnoreCase));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Connect_refused_raises_error_then_close_and_never_connect(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var client = manager.Connect($"tcp://127.0.0.1:{port}", log.Handler);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the refused connect to close");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Error, EventKind.Close], log.Of(client));
        Assert.Contains("refused", log.Errors.Single().Message, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Unresolvable_host_raises_error_naming_the_host(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        var client = manager.Connect("tcp://no-such-host.invalid:80", log.Handler);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the failed resolution to close");
        Assert.Equal([EventKind.Open, EventKind.Error, EventKind.Close], log.Of(client));
        Assert.Contains("no-such-host.invalid", log.Errors.Single().Message, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Close_after_drain_delivers_everything_then_closes(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend, o => o.SendHighWaterMark = 64 * 1024);
        var payload = new byte[4 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        log.Next = (c, e) =>
        {
            if (e.Kind != EventKind.Accept) return;
            Assert.True(c.Send(payload));
            c.CloseAfterDrain();
            Assert.False(c.Send("late"u8));
        };
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        var received = Task.Run(() =>
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            peer.Connect(listener.LocalEndPoint!);
            using var stream = new NetworkStream(peer);
            using var sink = new MemoryStream();
            stream.CopyTo(sink);
            return sink.ToArray();
        });
        Assert.Equal(payload, manager.Until(received));
        manager.Until(() => log.Count(EventKind.Close) == 1, what: "the drained connection to close");
        log.AssertBalanced(listener);
        Assert.Empty(log.Errors);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Dispose_closes_a_thousand_live_connections(PollerBackend backend)
    {
        var log = new EventLog();
        var manager = Loop.Create(backend);
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        var clients = new List<Connection>();
        for (int i = 0; i < 500; i++) clients.Add(manager.Connect($"tcp://127.0.0.1:{listener.LocalEndPoint!.Port}", log.Handler));
        manager.Until(() => log.Count(EventKind.Accept) == 500 && log.Count(EventKind.Connect) == 500, what: "500 connections each way");
        Assert.Equal(1001, manager.Connections.Count);
        manager.Dispose();
        Assert.Equal(1001, log.Count(EventKind.Close));
        log.AssertBalanced();
        Assert.All(clients, c => Assert.Equal(ConnectionState.Closed, c.State));
        Assert.False(clients[0].Send("x"u8));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Connection_closed_before_its_open_still_gets_open_then_close(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        var client = manager.Connect("tcp://127.0.0.1:9", log.Handler);
        client.Close();
        manager.Poll(0);
        Assert.Equal([EventKind.Open, EventKind.Close], log.Of(client));
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Handler_exception_fails_only_that_connection(PollerBackend backend)
    {
        var log = new EventLog();
        using var manager = Loop.Create(backend);
        log.Next = (c, e) => { if (e.Kind == EventKind.Read) throw new InvalidOperationException("boom"); };
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(listener.LocalEndPoint!);
        peer.Send("x"u8);
        manager.Until(() => log.Count(EventKind.Close) == 1, what: "the failing connection to close");
        Assert.Contains("boom", log.Errors.Single().Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionState.Connected, listener.State);
    }

    [Fact]
    public void Checker_catches_an_event_after_close()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var listener = manager.Listen("tcp://127.0.0.1:0", null);
        manager.Poll(0);
        var checker = new LifecycleChecker();
        checker.Observe(listener, EventKind.Open, -1);
        checker.Observe(listener, EventKind.Close, -1);
        Assert.Throws<LifecycleViolationException>(() => checker.Observe(listener, EventKind.Read, -1));
        Assert.Throws<LifecycleViolationException>(() => new LifecycleChecker().Observe(listener, EventKind.Read, -1));
    }
}

public class DisposeTests
{
    [Fact]
    public void Dispose_completes_when_close_handlers_try_to_reconnect()
    {
        var log = new EventLog();
        var manager = Loop.Create(PollerBackend.Auto);
        var listener = manager.Listen("tcp://127.0.0.1:0", log.Handler);
        string url = $"tcp://127.0.0.1:{listener.LocalEndPoint!.Port}";
        log.Next = (c, e) => { if (e.Kind == EventKind.Close && c.Role == ConnectionRole.Outbound) manager.Connect(url, log.Handler); };
        var client = manager.Connect(url, log.Handler);
        manager.Until(() => client.State == ConnectionState.Connected && log.Count(EventKind.Accept) == 1, what: "the connection");
        manager.Dispose();
        log.AssertBalanced();
        Assert.Equal(3, log.Count(EventKind.Close));
    }
}
