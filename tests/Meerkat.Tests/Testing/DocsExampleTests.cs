using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Testing;

namespace Meerkat.Tests.Testing;

/// <summary>The example of docs/testing.md, as it is printed there.</summary>
public sealed class DocsExampleTests
{
    private static void Hello(Connection c, Event e)
    {
        if (e.Kind == EventKind.HttpMessage) c.Reply(200, "hello, " + e.Request!.GetQueryParameter("name"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Answers_whole_under_split_writes_latency_and_a_slow_link(int seed)
    {
        using var network = new VirtualNetwork(seed);
        network.Upstream = new LinkFaults { MaxSegment = 1 };   // the request arrives byte by byte
        network.Downstream = new LinkFaults { MaxSegment = 5, Latency = TimeSpan.FromMilliseconds(80), BytesPerSecond = 2_000 };
        var server = network.CreateManager("api.test");
        server.ListenHttp("http://api.test:80", Hello);          // the handler under test, unchanged
        var client = network.CreateManager("client.test");
        var body = new StringBuilder();
        HttpOutcome? outcome = null;
        var connection = client.ConnectHttp("http://api.test", (c, e) =>
        {
            if (e.Kind == EventKind.HttpBody) body.Append(Encoding.UTF8.GetString(e.Data));
            if (e.Kind == EventKind.HttpDone) outcome = e.Outcome;
        });
        connection.SendRequest(new HttpClientRequest("GET", "http://api.test/?name=meerkat"));
        Assert.True(network.RunUntil(() => outcome is not null, TimeSpan.FromMinutes(1)));
        Assert.Equal(HttpOutcome.Completed, outcome);
        Assert.Equal("hello, meerkat", body.ToString());
    }
}
