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

    /// <summary>Runs one HTTPS GET of a 20,000-byte body; returns the client's record and the bytes the server wrote.</summary>
    private static (ClientRecord Record, long ServerBytes) Fetch(Meerkat.Testing.LinkFaults downstream)
    {
        using var h = new VirtualHarness();
        h.Network.Downstream = downstream;
        var options = h.ServerOptions();
        options.Tls = new TlsServerOptions { Certificate = TestCertificates.Localhost };
        long written = 0;
        h.Server.ListenHttp("https://localhost:443", (c, e) =>
        {
            if (e.Kind == EventKind.Write) written += e.Count;
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, new byte[20_000], "application/octet-stream");
        }, options);
        var record = new ClientRecord();
        record.Connection = h.Client.ConnectHttp("https://localhost:443", record.Handler,
            new HttpClientConnectionOptions { Tls = new TlsClientOptions { ServerName = "localhost", TrustedRoots = TestCertificates.Roots } });
        record.Connection.SendRequest(new HttpClientRequest("GET", "https://localhost/"));
        h.RunUntil(() => record.Done == 1 || record.Closed, "the HTTPS response");
        h.Network.RunFor(TimeSpan.FromSeconds(1));
        return (record, written);
    }

    [Fact]
    public void ATruncatedTlsRecordIsAnErrorNotAShortSuccess()
    {
        var (clean, total) = Fetch(Meerkat.Testing.LinkFaults.None);
        Assert.Equal(HttpOutcome.Completed, clean.Outcome);
        Assert.Equal(20_000, clean.Body.Length);
        // The server's stream ends 1000 bytes short: inside the last record of the body (the last 3,616 bytes;
        // a few hundred bytes of other records may follow it).
        var (cut, _) = Fetch(new Meerkat.Testing.LinkFaults { EndAfterBytes = total - 1000 });
        Assert.True(cut.Closed);
        Assert.True(cut.Body.Length < 20_000);
        Assert.NotEqual(HttpOutcome.Completed, cut.Outcome);
        Assert.NotNull(cut.Error);
    }
}
