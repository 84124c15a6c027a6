using System.Diagnostics;
using EventLog = Meerkat.Tests.Core.EventLog;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tls;

namespace Meerkat.Tests.Tls;

/// <summary>Interop with <c>openssl s_server</c> and <c>s_client</c>, TLS 1.2 and 1.3. Processes are
/// started here, bounded in time, and killed by their id.</summary>
public sealed class OpenSslInteropTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "meerkat-openssl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    [Theory]
    [InlineData("-tls1_2", SslProtocols.Tls12)]
    [InlineData("-tls1_3", SslProtocols.Tls13)]
    public void Meerkat_client_reads_an_openssl_s_server_page(string version, SslProtocols expected)
    {
        var openssl = Peers.Find("openssl");
        if (openssl is null) { Peers.SkipOrFail("openssl"); return; }
        var (cert, key) = TestCertificates.WritePem(TestCertificates.Localhost, directory);
        int port = FreePort();
        using var server = Start(openssl, $"s_server -accept 127.0.0.1:{port} -cert {cert} -key {key} {version} -www -naccept 1", redirectInput: false);
        try
        {
            using var manager = Loop.Create(PollerBackend.Auto);
            WaitForListening(manager, port);
            var collector = new ResponseCollector("GET / HTTP/1.0\r\n\r\n");
            manager.ConnectTls($"tls://127.0.0.1:{port}", collector.Handler, new TlsClientOptions { ServerName = "localhost", TrustedRoots = TestCertificates.Roots });
            manager.Until(() => collector.IsClosed, what: "the s_server page");
            Assert.Empty(collector.Log.Errors);
            Assert.True(collector.IsComplete);
            Assert.Equal(200, collector.Status);
            Assert.Equal(expected, collector.Session!.Protocol);
            Assert.Contains("Cipher", Encoding.ASCII.GetString(collector.Body));
            collector.Log.AssertBalanced();
        }
        finally
        {
            Kill(server);
        }
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public void Openssl_s_client_gets_a_response_from_the_https_server(string version)
    {
        var openssl = Peers.Find("openssl");
        if (openssl is null) { Peers.SkipOrFail("openssl"); return; }
        Directory.CreateDirectory(directory);
        string ca = Path.Combine(directory, "ca.pem");
        File.WriteAllText(ca, TestCertificates.Ca.ExportCertificatePem());
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        log.Next = (c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(200, "hello over " + c.TlsSession!.Protocol); };
        var listener = manager.ListenHttp("https://127.0.0.1:0", log.Handler, new HttpServerOptions { Tls = new TlsServerOptions { Certificate = TestCertificates.Localhost } });
        using var client = Start(openssl, $"s_client -connect 127.0.0.1:{listener.LocalEndPoint!.Port} -servername localhost -CAfile {ca} -verify_return_error {version} -quiet", redirectInput: true);
        try
        {
            client.StandardInput.Write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            client.StandardInput.Close();
            var output = client.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            manager.Until(() => output.IsCompleted, TimeSpan.FromSeconds(30), "s_client to finish");
            var text = output.Result;
            Assert.Contains("HTTP/1.1 200 OK", text);
            Assert.Contains(version == "-tls1_3" ? "hello over Tls13" : "hello over Tls12", text);
            manager.Until(() => log.Count(EventKind.Close) == 1, what: "the server connection to close");
            Assert.Empty(log.Errors);
            log.AssertBalanced(listener);
        }
        finally
        {
            Kill(client);
        }
    }

    private static Process Start(string program, string arguments, bool redirectInput) =>
        Process.Start(new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        })!;

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) Process.GetProcessById(process.Id).Kill();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // exited meanwhile
        }
        process.WaitForExit(5000);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Waits, bounded, until s_server accepts TCP connections (a probe connect, closed at once,
    /// would use up -naccept 1, so this only checks the port is bound by trying to bind it).</summary>
    private static void WaitForListening(Manager manager, int port)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            }
            catch (SocketException)
            {
                return;   // bound by s_server
            }
            manager.Poll(20);
        }
        Assert.Fail($"openssl s_server did not listen on port {port} within 10 s");
    }
}
