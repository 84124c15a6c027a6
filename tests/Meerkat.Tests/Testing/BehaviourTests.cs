using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Testing;

namespace Meerkat.Tests.Testing;

/// <summary>The behaviours of DESIGN.md §4 on the virtual network, under faults, in virtual time.</summary>
public sealed class BehaviourTests
{
    [Fact]
    public void StreamingDownloadArrivesInPiecesAsTheLinkCarriesIt()
    {
        using var h = new VirtualHarness();
        h.Network.Downstream = new LinkFaults { BytesPerSecond = 1_000_000, MaxSegment = 4096 };
        var body = new byte[1 << 20];
        new Random(3).NextBytes(body);
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            c.BeginResponse(200, contentLength: -1, "application/octet-stream"); // chunked
            for (int offset = 0; offset < body.Length; offset += 100_000) c.WriteBody(body.AsSpan(offset, Math.Min(100_000, body.Length - offset)));
            c.EndResponse();
        }, h.ServerOptions());
        var record = h.Get("/big");
        h.RunUntil(() => record.Done == 1, "the download");
        Assert.Equal(HttpOutcome.Completed, record.Outcome);
        Assert.True(body.AsSpan().SequenceEqual(record.Body.ToArray()));
        Assert.True(record.Events.Count(k => k == EventKind.HttpBody) > 100, "pieces as they arrive, not one buffered body");
        Assert.InRange(h.Network.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.1)); // 1 MiB at 1 MB/s
        var http = record.Events.Where(k => k is EventKind.HttpHeaders or EventKind.HttpBody or EventKind.HttpMessage or EventKind.HttpDone).ToList();
        Assert.Equal(EventKind.HttpHeaders, http[0]);
        Assert.Equal([EventKind.HttpMessage, EventKind.HttpDone], http[^2..]);
    }

    [Fact]
    public void DeferredResponseToAConnectionCloseRequestKeepsTheConnectionUntilAnswered()
    {
        using var h = new VirtualHarness();
        h.Network.Upstream = new LinkFaults { MaxSegment = 7 };
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage)
                c.Manager.AddTimer(TimeSpan.FromSeconds(30), TimeSpan.Zero, _ => c.Reply(200, "late but whole"));
        }, h.ServerOptions());
        var record = h.Get("/slow", ("Connection", "close"));
        h.Network.RunFor(TimeSpan.FromSeconds(29));
        Assert.False(record.Closed, "the connection waits for the deferred response");
        Assert.Equal(0, record.Status);
        string? connectionField = null;
        record.Connection.Handler += (c, e) => { if (e.Kind == EventKind.HttpHeaders) connectionField = e.Response!.GetHeader("Connection"); };
        h.RunUntil(() => record.Closed, "the close after the response");
        Assert.Equal("late but whole", record.Text);
        Assert.Equal(HttpOutcome.Completed, record.Outcome);
        Assert.Equal("close", connectionField);
        Assert.InRange(h.Network.Elapsed, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(31));
    }

    [Fact]
    public void PipelinedRequestBehindADeferredOneWaitsItsTurn()
    {
        using var h = new VirtualHarness();
        h.Network.Upstream = new LinkFaults { MaxSegment = 5 };
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            if (e.Request!.PathIs("/slow"u8)) c.Manager.AddTimer(TimeSpan.FromSeconds(5), TimeSpan.Zero, _ => c.Reply(200, "slow"));
            else c.Reply(200, "fast");
        }, h.ServerOptions());
        var received = new MemoryStream();
        h.Client.Connect("tcp://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.Connect) c.Send("GET /slow HTTP/1.1\r\nHost: s\r\n\r\nGET /fast HTTP/1.1\r\nHost: s\r\n\r\n"u8);
            if (e.Kind == EventKind.Read) received.Write(e.Data);
        });
        h.RunUntil(() => Encoding.ASCII.GetString(received.ToArray()).Contains("fast", StringComparison.Ordinal), "both responses");
        string text = Encoding.ASCII.GetString(received.ToArray());
        Assert.True(text.IndexOf("slow", StringComparison.Ordinal) < text.IndexOf("fast", StringComparison.Ordinal), text);
        Assert.InRange(h.Network.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6));
    }

    [Fact]
    public void NothingIsAnsweredAfterAConnectionCloseRequest()
    {
        using var h = new VirtualHarness();
        h.Network.Upstream = new LinkFaults { MaxSegment = 3 };
        h.Network.Downstream = new LinkFaults { MaxSegment = 11, Latency = TimeSpan.FromMilliseconds(20) };
        int requests = 0;
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) requests++;
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "only me");
        }, h.ServerOptions());
        var received = new MemoryStream();
        bool closed = false;
        h.Client.Connect("tcp://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.Connect)
                c.Send("GET /a HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: s\r\n\r\nGET /c HTTP/1.1\r\nHost: s\r\n\r\n"u8);
            if (e.Kind == EventKind.Read) received.Write(e.Data);
            if (e.Kind == EventKind.Close) closed = true;
        });
        h.RunUntil(() => closed, "the close");
        string text = Encoding.ASCII.GetString(received.ToArray());
        Assert.Equal(1, requests);
        Assert.Single(text.Split("HTTP/1.1 ")[1..]);
        Assert.Contains("Connection: close", text, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("only me", text);
    }

    [Fact]
    public void LifecycleEventsBalanceUnderRandomFaults()
    {
        using var h = new VirtualHarness(seed: 11);
        h.Network.RandomFaults = true;
        var opens = new Dictionary<long, int>();
        var closes = new Dictionary<long, int>();
        void Count(Connection c, Event e)
        {
            if (e.Kind == EventKind.Open) opens[c.Id] = opens.GetValueOrDefault(c.Id) + 1;
            if (e.Kind == EventKind.Close) closes[c.Id] = closes.GetValueOrDefault(c.Id) + 1;
        }
        h.Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            Count(c, e);
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, new string('x', 5000));
        }, h.ServerOptions());
        for (int i = 0; i < 12; i++)
        {
            var connection = h.Client.ConnectHttp("http://server.test:80", Count);
            connection.SendRequest(new HttpClientRequest("GET", "http://server.test/"));
            connection.SendRequest(new HttpClientRequest("GET", "http://server.test/again"));
        }
        h.Network.RunFor(TimeSpan.FromSeconds(20));
        h.Network.Dispose();
        Assert.True(opens.Count > 24, $"{opens.Count} connections");
        Assert.All(opens, pair => Assert.Equal(1, pair.Value));
        Assert.Equal(opens.Keys.Order(), closes.Keys.Order());
        Assert.All(closes, pair => Assert.Equal(1, pair.Value));
    }
}
