using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Tests.Tls;
using Meerkat.Tls;

namespace Meerkat.Tests.Testing;

/// <summary>HTTPS over the virtual network, with the test certificates.</summary>
public sealed class TlsTests
{
    [Fact]
    public void HttpsRunsOverTheVirtualNetworkUnderSplitWrites()
    {
        using var h = new VirtualHarness();
        h.Network.Upstream = new Meerkat.Testing.LinkFaults { MaxSegment = 7 };
        h.Network.Downstream = new Meerkat.Testing.LinkFaults { MaxSegment = 13, Latency = TimeSpan.FromMilliseconds(5) };
        var options = h.ServerOptions();
        options.Tls = new TlsServerOptions { Certificate = TestCertificates.Localhost };
        h.Server.ListenHttp("https://localhost:443", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "secret");
        }, options);
        var record = new ClientRecord();
        record.Connection = h.Client.ConnectHttp("https://localhost:443", record.Handler,
            new Meerkat.Http.Client.HttpClientConnectionOptions { Tls = new TlsClientOptions { ServerName = "localhost", TrustedRoots = TestCertificates.Roots } });
        Assert.True(record.Connection.SendRequest(new Meerkat.Http.Client.HttpClientRequest("GET", "https://localhost/")));
        h.RunUntil(() => record.Done == 1 || record.Closed, "the HTTPS response");
        Assert.Null(record.Error);
        Assert.Equal("secret", record.Text);
        Assert.Contains(EventKind.TlsHandshake, record.Events);
    }
}
