using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http2;

/// <summary>
/// DESIGN.md §3.4 on a multiplexed connection: each stream's transaction follows HttpHeaders →
/// HttpBody* → HttpMessage → HttpDone, streams interleave, and every one ends before Close, on
/// every path. The checker tracks them per stream; the server ends them all when the connection goes.
/// </summary>
public class Http2LifecycleTests
{
    private sealed class Multiplexed : Protocol
    {
        public override bool IsMultiplexed => true;

        public override void OnEvent(Connection connection, Event e)
        {
        }
    }

    private static (LifecycleChecker Checker, Connection Connection, Manager Manager) Open()
    {
        var manager = Loop.Create(PollerBackend.Auto);
        var connection = new Connection(manager, 1, ConnectionRole.Accepted, isDatagram: false, handler: null) { Protocol = new Multiplexed() };
        var checker = new LifecycleChecker();
        checker.Observe(connection, EventKind.Open, -1);
        return (checker, connection, manager);
    }

    [Fact]
    public void The_checker_accepts_interleaved_streams_and_requires_each_to_end_before_close()
    {
        var (checker, c, manager) = Open();
        using (manager)
        {
            object a = new(), b = new();
            checker.Observe(c, EventKind.HttpHeaders, -1, a);
            checker.Observe(c, EventKind.HttpHeaders, -1, b);
            checker.Observe(c, EventKind.HttpBody, -1, b);
            checker.Observe(c, EventKind.HttpMessage, -1, a);
            checker.Observe(c, EventKind.HttpDone, -1, a);
            checker.Observe(c, EventKind.HttpHeaders, -1, a); // the stream object serves its next request
            checker.Observe(c, EventKind.HttpMessage, -1, b);
            checker.Observe(c, EventKind.HttpDone, -1, b);
            var error = Assert.Throws<LifecycleViolationException>(() => checker.Observe(c, EventKind.Close, -1));
            Assert.Contains("1 HTTP/2 stream transaction(s) still open", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_checker_refuses_a_stream_out_of_order()
    {
        var (checker, c, manager) = Open();
        using (manager)
        {
            object a = new();
            Assert.Throws<LifecycleViolationException>(() => checker.Observe(c, EventKind.HttpDone, -1, a));
            checker.Observe(c, EventKind.HttpHeaders, -1, a);
            Assert.Throws<LifecycleViolationException>(() => checker.Observe(c, EventKind.HttpHeaders, -1, a));
            checker.Observe(c, EventKind.HttpMessage, -1, a);
            Assert.Throws<LifecycleViolationException>(() => checker.Observe(c, EventKind.HttpBody, -1, a));
        }
    }

    [Theory]
    [InlineData("peer", HttpOutcome.PeerClosed)]
    [InlineData("application", HttpOutcome.Cancelled)]
    [InlineData("dispose", HttpOutcome.Disposed)]
    public void Every_stream_in_progress_ends_once_when_the_connection_goes(string how, HttpOutcome expected)
    {
        const int Count = 6;
        int messages = 0;
        Connection? serverSide = null;
        var server = new H2Server(PollerBackend.Auto, (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            serverSide = c;
            messages++; // deferred: never answered
        });
        try
        {
            // HttpClient resets its streams when disposed; a bare close of the transport comes from our client core.
            using var socket = how == "peer" ? Http.Server.RawClient.Connect(server.Port) : null;
            var client = Http2ServerIntegrationTests.H2cClient();
            var requests = how == "peer" ? [] : Enumerable.Range(0, Count).Select(i => client.GetAsync($"http://127.0.0.1:{server.Port}/{i}")).ToArray();
            if (socket is not null) socket.Send(OpenStreams(Count));
            server.Manager.Until(() => messages == Count, what: "the requests");
            switch (how)
            {
                case "peer":
                    socket!.Shutdown(System.Net.Sockets.SocketShutdown.Send); // a FIN: a Close with unread bytes would be a reset
                    server.WaitForCloses(1);
                    break;
                case "application":
                    serverSide!.Close();
                    server.WaitForCloses(1);
                    client.Dispose();
                    break;
                default:
                    server.Manager.Dispose();
                    client.Dispose();
                    break;
            }

            Assert.Equal(Count, server.Outcomes.Count);
            Assert.All(server.Outcomes, o => Assert.Equal(expected, o));
            if (how == "dispose") server.Log.AssertBalanced();
            else server.Log.AssertBalanced(server.Listener);
            if (how != "peer") Assert.All(requests, r => Assert.Throws<AggregateException>(() => r.Wait(TimeSpan.FromSeconds(30))));
        }
        finally
        {
            server.Dispose();
        }
    }

    /// <summary>The preface, SETTINGS and <paramref name="count"/> GET streams, as our client core writes them.</summary>
    private static byte[] OpenStreams(int count)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var core = new Meerkat.Http2.Http2Connection(isServer: false, output, System.Diagnostics.Stopwatch.GetTimestamp());
        var request = new Meerkat.Http2.Http2HeaderList();
        for (int i = 0; i < count; i++)
        {
            request.Clear();
            request.Add(":method", "GET").Add(":scheme", "http").Add(":authority", "localhost").Add(":path", $"/{i}");
            core.OpenStream(request, endStream: true);
        }

        return output.WrittenSpan.ToArray();
    }
}
