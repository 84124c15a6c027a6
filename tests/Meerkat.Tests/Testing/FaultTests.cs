using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Testing;

namespace Meerkat.Tests.Testing;

/// <summary>Each fault of the virtual network on its own, against the HTTP server and client.</summary>
public sealed class FaultTests
{
    private static byte[] Body(int length)
    {
        var body = new byte[length];
        for (int i = 0; i < length; i++) body[i] = (byte)('a' + i % 26);
        return body;
    }

    [Fact]
    public void SplitWritesDownToOneByteDeliverEveryByteAsItsOwnRead()
    {
        using var h = new VirtualHarness();
        h.Network.Upstream = new LinkFaults { MaxSegment = 1 };
        h.Network.Downstream = new LinkFaults { MaxSegment = 1 };
        int serverReads = 0;
        long serverBytes = 0;
        var body = Body(300);
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.Read) { serverReads++; serverBytes += e.Data.Length; }
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, body, "text/plain");
        }, h.ServerOptions());
        var record = h.Get("/split");
        h.RunUntil(() => record.Done == 1, "the response");
        Assert.Equal(body, record.Body.ToArray());
        Assert.Equal(serverBytes, serverReads); // one byte per read
        Assert.True(serverReads > 30);
        Assert.Equal(record.BytesRead, record.Events.Count(k => k == EventKind.Read));
    }

    [Fact]
    public void LatencyDelaysEachWayByItsAmount()
    {
        using var h = new VirtualHarness();
        h.Network.Upstream = new LinkFaults { Latency = TimeSpan.FromMilliseconds(50) };
        h.Network.Downstream = new LinkFaults { Latency = TimeSpan.FromMilliseconds(50) };
        h.ServeBody(Body(10));
        var record = h.Get("/");
        h.RunUntil(() => record.Done == 1, "the response");
        // A handshake round trip (100 ms), then the request and its response (100 ms).
        Assert.Equal(TimeSpan.FromMilliseconds(200), record.DoneAt!.Value - h.Origin);
    }

    [Fact]
    public void BandwidthLimitPacesTheBody()
    {
        using var h = new VirtualHarness();
        h.Network.Downstream = new LinkFaults { BytesPerSecond = 10_000 };
        var body = Body(100_000);
        h.ServeBody(body);
        var record = h.Get("/");
        h.RunUntil(() => record.Done == 1, "the response");
        Assert.Equal(body, record.Body.ToArray());
        Assert.InRange(h.Network.Elapsed, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(11));
        Assert.True(record.Events.Count(k => k == EventKind.HttpBody) > 1, "the body arrives in pieces as the link carries it");
    }

    [Fact]
    public void StallHoldsDeliveryUntilItEnds()
    {
        using var h = new VirtualHarness();
        h.Network.Downstream = new LinkFaults { StallAfter = TimeSpan.Zero, StallFor = TimeSpan.FromSeconds(5) };
        h.ServeBody(Body(1000));
        var record = h.Get("/");
        h.RunUntil(() => record.Done == 1, "the response");
        Assert.Equal(TimeSpan.FromSeconds(5), record.DoneAt!.Value - h.Origin);
        Assert.Equal(1000, record.Body.Length);
    }

    [Fact]
    public void StallLongerThanTheServersHeaderTimeoutEndsTheConnection()
    {
        using var h = new VirtualHarness();
        // The first 10 bytes of the request head arrive; the rest stalls.
        h.Network.Upstream = new LinkFaults { MaxSegment = 10, BytesPerSecond = 1000, StallAfter = TimeSpan.FromMilliseconds(15), StallFor = TimeSpan.FromMinutes(5) };
        var options = h.ServerOptions();
        options.HeaderTimeout = TimeSpan.FromSeconds(10);
        h.ServeBody(Body(1000), options);
        var record = h.Get("/");
        h.RunUntil(() => record.Closed, "the server's header deadline");
        Assert.True(record.Status is 0 or 408, $"status {record.Status}");
        Assert.InRange(h.Network.Elapsed, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(12));
    }

    [Fact]
    public void HalfClosedRequestStreamStillGetsTheWholeResponse()
    {
        using var h = new VirtualHarness();
        var request = "GET /half HTTP/1.1\r\nHost: server.test\r\n\r\n"u8.ToArray();
        h.Network.Upstream = new LinkFaults { EndAfterBytes = request.Length };
        var body = Body(5000);
        h.ServeBody(body);
        var received = new MemoryStream();
        bool closed = false;
        h.Client.Connect("tcp://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.Connect) c.Send(request);
            if (e.Kind == EventKind.Read) received.Write(e.Data);
            if (e.Kind == EventKind.Close) closed = true;
        });
        h.RunUntil(() => closed, "the close");
        string text = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 200", text);
        Assert.EndsWith(Encoding.ASCII.GetString(body), text);
        Assert.Contains(h.Network.Trace, line => line.Contains("half-closed after", StringComparison.Ordinal));
    }

    [Fact]
    public void ResetAtByteNDeliversNBytesThenFails()
    {
        using var h = new VirtualHarness();
        h.Network.Downstream = new LinkFaults { ResetAfterBytes = 500 };
        h.ServeBody(Body(10_000));
        var record = h.Get("/");
        h.RunUntil(() => record.Closed, "the close");
        Assert.Equal(500, record.BytesRead); // the head and the start of the body: the response had begun
        Assert.Equal(1, record.Done);
        Assert.NotEqual(HttpOutcome.Completed, record.Outcome);
        Assert.Contains("reset", record.Error!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ConnectionToAPortNobodyListensOnIsRefused()
    {
        using var h = new VirtualHarness();
        h.ServeBody(Body(1));
        Exception? error = null;
        bool closed = false;
        h.Client.Connect("tcp://server.test:81", (c, e) =>
        {
            if (e.Kind == EventKind.Error) error = e.Error;
            if (e.Kind == EventKind.Close) closed = true;
        });
        h.RunUntil(() => closed, "the close");
        Assert.Contains("connection refused", error!.Message);
    }

    [Fact]
    public void ScriptedRefusalRefusesEvenWhileListening()
    {
        using var h = new VirtualHarness();
        h.ServeBody(Body(1));
        h.Network.Refuse("server.test", 80);
        var record = h.Get("/");
        h.RunUntil(() => record.Closed, "the close");
        Assert.Contains("connection refused", record.Error!.Message);
        Assert.DoesNotContain(EventKind.Connect, record.Events);
    }

    [Fact]
    public void ResolveFailureNamesTheHost()
    {
        using var h = new VirtualHarness();
        h.ServeBody(Body(1));
        h.Network.FailResolve("server.test");
        var record = h.Get("/");
        h.RunUntil(() => record.Closed, "the close");
        Assert.Contains("cannot resolve host 'server.test'", record.Error!.Message);
        Assert.DoesNotContain(EventKind.Resolve, record.Events);
    }

    [Fact]
    public void UnknownNameFailsToResolve()
    {
        using var h = new VirtualHarness();
        Exception? error = null;
        h.Client.Connect("tcp://nobody.test:80", (c, e) => { if (e.Kind == EventKind.Error) error = e.Error; });
        h.RunUntil(() => error is not null, "the error");
        Assert.Contains("cannot resolve host 'nobody.test'", error!.Message);
    }

    [Fact]
    public void FullBacklogDropsTheConnectAndTheClientRetries()
    {
        using var h = new VirtualHarness();
        h.Server.Listen("tcp://server.test:80", null, new ListenOptions { Backlog = 1 });
        var connectedAt = new List<TimeSpan>();
        for (int i = 0; i < 3; i++)
            h.Client.Connect("tcp://server.test:80", (c, e) => { if (e.Kind == EventKind.Connect) connectedAt.Add(c.Manager.Time); });
        TimeSpan start = h.Client.Time;
        h.RunUntil(() => connectedAt.Count == 3, "three connects");
        Assert.Equal(start, connectedAt[0]);
        Assert.True(connectedAt[2] - start >= TimeSpan.FromSeconds(1), "the dropped SYNs are retried a second later");
        Assert.Contains(h.Network.Trace, line => line.Contains("backlog full", StringComparison.Ordinal));
    }

    [Fact]
    public void TimeJumpFiresADueTimerOnceNotOncePerMissedPeriod()
    {
        using var h = new VirtualHarness();
        int fired = 0;
        h.Server.AddTimer(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), _ => fired++);
        h.Network.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(1, fired);
        h.Network.JumpClock(TimeSpan.FromHours(1));
        h.Network.RunFor(TimeSpan.Zero);
        Assert.Equal(2, fired);
        h.Network.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(3, fired);
    }

    [Fact]
    public void TimeJumpPastTheIdleTimeoutClosesAnIdleKeepAliveConnection()
    {
        using var h = new VirtualHarness();
        var options = h.ServerOptions();
        options.IdleTimeout = TimeSpan.FromSeconds(60);
        h.ServeBody(Body(10), options);
        var record = h.Get("/");
        h.RunUntil(() => record.Done == 1, "the response");
        h.Network.RunFor(TimeSpan.FromSeconds(10));
        Assert.False(record.Closed);
        var jumpedAt = h.Network.Elapsed + TimeSpan.FromMinutes(5);
        h.Network.JumpClock(TimeSpan.FromMinutes(5));
        h.RunUntil(() => record.Closed, "the idle close");
        Assert.InRange(h.Network.Elapsed, jumpedAt, jumpedAt + TimeSpan.FromSeconds(2)); // at the next deadline sweep
    }
}
