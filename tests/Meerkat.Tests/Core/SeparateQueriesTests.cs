using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Meerkat.Tests.Core;

/// <summary>
/// RFC 8305 §3 with the system resolver's shape: AAAA and A asked separately. An AAAA answer starts
/// the race at once; an A answer waits the 50 ms resolution delay for it, then goes alone; an
/// answer that comes during the race joins it; the lookup fails only when both failed. Each family
/// is answered here by the test (<c>ManagerOptions.FamilyResolver</c>), when the test chooses.
/// </summary>
public class SeparateQueriesTests
{
    private const string Name = "dual.test";

    private sealed class Answers
    {
        public readonly TaskCompletionSource<IPAddress[]> V6 = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource<IPAddress[]> V4 = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Asked;

        public Task<IPAddress[]> Resolve(string host, AddressFamily family, CancellationToken token)
        {
            Assert.Equal(Name, host);
            Interlocked.Increment(ref Asked);
            var source = family == AddressFamily.InterNetworkV6 ? V6 : V4;
            token.Register(() => source.TrySetCanceled(token));
            return source.Task;
        }
    }

    private static Manager Create(PollerBackend backend, Answers answers) =>
        Loop.Create(backend, o => o.FamilyResolver = answers.Resolve);

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void An_A_answer_goes_alone_after_the_resolution_delay_when_AAAA_is_slow(PollerBackend backend)
    {
        var answers = new Answers();
        using var manager = Create(backend, answers);
        var listener = manager.Listen("tcp://127.0.0.1:0", (_, _) => { });
        var clock = Stopwatch.StartNew();
        var client = manager.Connect($"tcp://{Name}:{listener.LocalEndPoint!.Port}", (_, _) => { });
        answers.V4.SetResult([IPAddress.Loopback]); // AAAA never answers
        manager.Until(() => client.State == ConnectionState.Connected, what: "the connection over IPv4");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(45), $"connected after {clock.Elapsed.TotalMilliseconds} ms, inside the 50 ms resolution delay");
        Assert.Equal(IPAddress.Loopback, client.RemoteEndPoint!.Address);
        Assert.Equal(2, answers.Asked);
        manager.Until(() => answers.V6.Task.IsCanceled, what: "the AAAA query, no longer wanted, to be cancelled");
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void An_AAAA_answer_starts_the_race_without_waiting_for_A(PollerBackend backend)
    {
        if (!Socket.OSSupportsIPv6) Assert.Skip("this machine has no IPv6");
        var answers = new Answers();
        using var manager = Create(backend, answers);
        var listener = manager.Listen("tcp://[::1]:0", (_, _) => { });
        var client = manager.Connect($"tcp://{Name}:{listener.LocalEndPoint!.Port}", (_, _) => { });
        answers.V6.SetResult([IPAddress.IPv6Loopback]); // A never answers
        manager.Until(() => client.State == ConnectionState.Connected, what: "the connection over IPv6");
        Assert.Equal(IPAddress.IPv6Loopback, client.RemoteEndPoint!.Address);
        manager.Until(() => answers.V4.Task.IsCanceled, what: "the A query, no longer wanted, to be cancelled");
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_late_AAAA_answer_joins_the_race_after_every_A_address_failed(PollerBackend backend)
    {
        if (!Socket.OSSupportsIPv6) Assert.Skip("this machine has no IPv6");
        var answers = new Answers();
        using var manager = Create(backend, answers);
        var listener = manager.Listen("tcp://[::1]:0", (_, _) => { }); // nothing on 127.0.0.1 at this port
        int port = listener.LocalEndPoint!.Port;
        var client = manager.Connect($"tcp://{Name}:{port}", (_, _) => { });
        answers.V4.SetResult([IPAddress.Loopback]);
        // The AAAA answer comes well after the A address was refused: the race must still be open.
        manager.AddTimer(TimeSpan.FromMilliseconds(300), TimeSpan.Zero, _ => answers.V6.SetResult([IPAddress.IPv6Loopback]));
        manager.Until(() => client.State == ConnectionState.Connected || client.State == ConnectionState.Closed, what: "the connection to end its race");
        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, port), client.RemoteEndPoint);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Both_families_failing_fail_the_lookup_naming_the_host(PollerBackend backend)
    {
        var answers = new Answers();
        using var manager = Create(backend, answers);
        Exception? error = null;
        var client = manager.Connect($"tcp://{Name}:80", (_, e) => { if (e.Kind == EventKind.Error) error = e.Error; });
        answers.V6.SetException(new SocketException((int)SocketError.HostNotFound));
        answers.V4.SetResult([]);
        manager.Until(() => client.State == ConnectionState.Closed, what: "the failed lookup");
        Assert.NotNull(error);
        Assert.Contains($"cannot resolve host '{Name}'", error.Message, StringComparison.Ordinal);
    }
}
