using System.Net;
using System.Net.Sockets;
using System.Text;
using Meerkat.Http;

namespace Meerkat.Tests.Core;

/// <summary>One manager per core: connections spread over the loops, handlers and wakeups work
/// as with one manager, the lifecycle balances on each loop, and shutdown closes everything.</summary>
public class ManagerGroupTests
{
    public static TheoryData<ListenerSharing> Sharings =>
        OperatingSystem.IsLinux() ? new(ListenerSharing.ReusePort, ListenerSharing.SharedAcceptor) : new(ListenerSharing.SharedAcceptor);

    private static ManagerGroup Create(ListenerSharing sharing, int count = 2) => new(new ManagerGroupOptions
    {
        Count = count,
        Sharing = sharing,
        Manager = new ManagerOptions { CheckInvariants = true },
    });

    [Theory, MemberData(nameof(Sharings))]
    public void Connections_spread_over_the_loops_and_each_loop_balances_its_lifecycle(ListenerSharing sharing)
    {
        const int Connections = 40;
        var group = Create(sharing);
        var logs = group.Managers.Select(_ => new EventLog()).ToArray();
        var accepted = new int[logs.Length];
        using var allAccepted = new CountdownEvent(Connections);
        var listeners = group.Listen((manager, options) =>
        {
            int index = group.Managers.ToList().IndexOf(manager);
            logs[index].Next = (c, e) =>
            {
                if (e.Kind != EventKind.Accept) return;
                Assert.Same(manager, c.Manager);
                accepted[index]++;
                allAccepted.Signal();
            };
            return manager.Listen("tcp://127.0.0.1:0", logs[index].Handler, options);
        });
        int port = listeners[0].LocalEndPoint!.Port;
        Assert.All(listeners, l => Assert.Equal(port, l.LocalEndPoint!.Port));
        group.Start();
        var clients = new List<TcpClient>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                var client = new TcpClient();
                clients.Add(client);
                client.Connect(IPAddress.Loopback, port);
            }
            Assert.True(allAccepted.Wait(Loop.Deadline), $"accepted {string.Join(" + ", accepted)} of {Connections}");
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
        group.Dispose();

        Assert.All(accepted, count => Assert.True(count > 0, $"a loop got no connection: {string.Join(", ", accepted)}"));
        if (sharing == ListenerSharing.SharedAcceptor) Assert.All(accepted, count => Assert.Equal(Connections / logs.Length, count));
        foreach (var log in logs)
        {
            log.AssertBalanced();
            Assert.Empty(log.Errors);
        }
        foreach (var manager in group.Managers)
        {
            var (opens, closes) = manager.CheckedCounts!.Value;
            Assert.Equal(opens, closes);
        }
    }

    [Theory, MemberData(nameof(Sharings))]
    public async Task Http_handlers_and_wakeups_from_other_threads_work_as_with_one_manager(ListenerSharing sharing)
    {
        using var group = Create(sharing);
        var listeners = group.Listen((manager, options) =>
        {
            string index = group.Managers.ToList().IndexOf(manager).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
            {
                if (e.Kind == EventKind.HttpMessage)
                {
                    long id = c.Id;
                    _ = Task.Run(() => Assert.True(group.Wakeup(id, Encoding.ASCII.GetBytes(index))));
                }
                else if (e.Kind == EventKind.Wakeup)
                {
                    Assert.Same(manager, c.Manager);
                    c.Reply(200, e.Data, "text/plain");
                }
            }, listenOptions: options);
        });
        group.Start();
        using var client = new HttpClient();
        var served = new HashSet<string>();
        for (int i = 0; i < 30 && served.Count < group.Managers.Count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{listeners[0].LocalEndPoint!.Port}/");
            request.Headers.ConnectionClose = true; // a new connection each time
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served.Add(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        Assert.Equal(["0", "1"], served.Order());
    }

    [Theory, MemberData(nameof(Sharings))]
    public void Dispose_closes_every_connection_of_every_loop_and_frees_the_port(ListenerSharing sharing)
    {
        var group = Create(sharing, count: 3);
        var clients = Enumerable.Range(0, 12).Select(_ => new TcpClient()).ToList();
        using var allAccepted = new CountdownEvent(clients.Count);
        int closed = 0;
        ConnectionHandler handler = (c, e) =>
        {
            if (e.Kind == EventKind.Accept) allAccepted.Signal();
            if (e.Kind == EventKind.Close && c.Role == ConnectionRole.Accepted) Interlocked.Increment(ref closed);
        };
        var listeners = group.Listen((manager, options) => manager.Listen("tcp://127.0.0.1:0", handler, options));
        int port = listeners[0].LocalEndPoint!.Port;
        group.Start();
        try
        {
            foreach (var client in clients) client.Connect(IPAddress.Loopback, port);
            Assert.True(allAccepted.Wait(Loop.Deadline), $"{clients.Count - allAccepted.CurrentCount} of {clients.Count} accepted");
            group.Dispose();
            Assert.Equal(clients.Count, Volatile.Read(ref closed));
            Assert.All(listeners, l => Assert.Equal(ConnectionState.Closed, l.State));
            foreach (var client in clients)
            {
                client.Client.ReceiveTimeout = (int)Loop.Deadline.TotalMilliseconds;
                Assert.Equal(0, client.Client.Receive(new byte[1])); // the server closed it
            }
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
        using var again = new Manager();
        Assert.Equal(port, again.Listen($"tcp://127.0.0.1:{port}", null).LocalEndPoint!.Port);
    }

    [Theory, MemberData(nameof(Sharings))]
    public void A_group_does_not_share_a_port_another_listener_holds_nor_its_own(ListenerSharing sharing)
    {
        using var single = new Manager();
        int held = single.Listen("tcp://127.0.0.1:0", null).LocalEndPoint!.Port;
        using var group = Create(sharing);
        var refused = Assert.Throws<SocketException>(() => group.Listen((m, o) => m.Listen($"tcp://127.0.0.1:{held}", null, o)));
        Assert.Equal(SocketError.AddressAlreadyInUse, refused.SocketErrorCode);

        int port = group.Listen((m, o) => m.Listen("tcp://127.0.0.1:0", null, o))[0].LocalEndPoint!.Port;
        using var second = Create(sharing);
        Assert.Equal(SocketError.AddressAlreadyInUse,
            Assert.Throws<SocketException>(() => second.Listen((m, o) => m.Listen($"tcp://127.0.0.1:{port}", null, o))).SocketErrorCode);
        Assert.Throws<SocketException>(() => single.Listen($"tcp://127.0.0.1:{port}", null));
    }

    [Theory, MemberData(nameof(Sharings))]
    public async Task Shutdown_answers_the_deferred_requests_of_every_loop_then_refuses_new_connections(ListenerSharing sharing)
    {
        const int Requests = 10;
        var group = Create(sharing);
        var pending = new System.Collections.Concurrent.ConcurrentQueue<long>();
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listeners = group.Listen((manager, options) => manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage)
            {
                pending.Enqueue(c.Id); // answered later, from the test thread
                if (pending.Count >= Requests) allArrived.TrySetResult();
            }
            else if (e.Kind == EventKind.Wakeup) c.Reply(200, "late but answered"u8, "text/plain");
        }, listenOptions: options));
        int port = listeners[0].LocalEndPoint!.Port;
        var run = Task.Run(() => group.Run());
        using var client = new HttpClient();
        var responses = Enumerable.Range(0, Requests).Select(_ =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/");
            request.Headers.ConnectionClose = false;
            return client.SendAsync(request, TestContext.Current.CancellationToken);
        }).ToList();
        await allArrived.Task.WaitAsync(Loop.Deadline, TestContext.Current.CancellationToken);
        var shutdown = group.ShutdownAsync(TimeSpan.FromSeconds(30));
        Assert.False(shutdown.IsCompleted);
        foreach (long id in pending) Assert.True(group.Wakeup(id, []));
        foreach (var response in responses)
        {
            using var answered = await response;
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Equal("late but answered", await answered.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        await shutdown.WaitAsync(Loop.Deadline, TestContext.Current.CancellationToken);
        await run.WaitAsync(Loop.Deadline, TestContext.Current.CancellationToken);
        using var refused = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken).AsTask());
        group.Dispose();
        foreach (var manager in group.Managers)
        {
            var (opens, closes) = manager.CheckedCounts!.Value;
            Assert.Equal(opens, closes);
        }
    }
}
