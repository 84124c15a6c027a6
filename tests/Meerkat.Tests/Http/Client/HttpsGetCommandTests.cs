using System.Text;
using Meerkat.Cli;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tests.Tls;
using Meerkat.Tls;

namespace Meerkat.Tests.Http.Client;

/// <summary><c>meerkat get</c> over https://, run in-process against a Meerkat HTTPS server on its own loop thread.</summary>
public sealed class HttpsGetCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-get-tls-").FullName;
    private readonly List<(Manager Manager, Task Loop)> servers = [];

    public void Dispose()
    {
        foreach (var (manager, loop) in servers)
        {
            manager.Dispose();
            try { loop.GetAwaiter().GetResult(); } catch (ObjectDisposedException) { }
        }
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>Starts an HTTPS server answering "secret body" and returns its URL.</summary>
    private string Serve(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, bool requireClientCertificate = false)
    {
        var manager = Loop.Create(PollerBackend.Auto);
        var tls = new TlsServerOptions { Certificate = certificate };
        if (requireClientCertificate)
        {
            tls.ClientCertificates = ClientCertificateMode.Required;
            tls.ClientCertificateAuthorities = TestCertificates.Roots;
        }
        var options = new HttpServerOptions { Tls = tls };
        var listener = manager.ListenHttp("https://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.HttpMessage) c.Reply(200, "secret body", "text/plain"); }, options);
        servers.Add((manager, manager.RunAsync()));
        return $"https://127.0.0.1:{listener.LocalEndPoint!.Port}/";
    }

    private static (int Status, string Stdout, string Stderr) Get(params string[] args)
    {
        using var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int status = GetCommand.Run(args, stdout, stderr);
        return (status, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private string CaFile()
    {
        string path = Path.Combine(directory, "ca.pem");
        File.WriteAllText(path, TestCertificates.Ca.ExportCertificatePem());
        return path;
    }

    [Fact]
    public void Cacert_trusts_a_custom_CA_and_without_it_the_failure_names_the_reason_on_one_line()
    {
        string url = Serve(TestCertificates.Localhost);
        var ok = Get(url, "--cacert", CaFile());
        Assert.Equal((ExitCodes.Ok, "secret body", ""), ok);

        var refused = Get(url);
        Assert.Equal(ExitCodes.NetworkError, refused.Status);
        Assert.Equal("", refused.Stdout);
        var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("meerkat get: GET " + url + " failed: TLS handshake failed", line);
        Assert.Contains("not trusted", line);
    }

    [Theory]
    [InlineData("expired", "expired")]
    [InlineData("wrong-host", "name mismatch")]
    public void Insecure_accepts_what_verification_refuses(string kind, string words)
    {
        string url = Serve(kind == "expired" ? TestCertificates.Expired : TestCertificates.OtherHost);
        var refused = Get(url, "--cacert", CaFile());
        Assert.Equal(ExitCodes.NetworkError, refused.Status);
        Assert.Contains(words, refused.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal((ExitCodes.Ok, "secret body", ""), Get(url, "-k"));
        Assert.Equal((ExitCodes.Ok, "", ""), Get(url, "--insecure", "-o", Path.Combine(directory, "out.txt")));
        Assert.Equal("secret body", File.ReadAllText(Path.Combine(directory, "out.txt")));
    }

    [Fact]
    public void Cert_and_key_present_a_client_certificate_to_a_server_that_requires_one()
    {
        string url = Serve(TestCertificates.Localhost, requireClientCertificate: true);
        var (cert, key) = TestCertificates.WritePem(TestCertificates.OtherHost, Path.Combine(directory, "client"));
        Assert.Equal((ExitCodes.Ok, "secret body", ""), Get(url, "--cacert", CaFile(), "--cert", cert, "--key", key));
        var refused = Get(url, "--cacert", CaFile());
        Assert.Equal(ExitCodes.NetworkError, refused.Status);
        Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--cert and --key go together", Assert.Throws<UsageException>(() => Get(url, "--cert", cert)).Message);
        Assert.Contains("cannot load --cert", Assert.Throws<UsageException>(() => Get(url, "--cert", cert, "--key", Path.Combine(directory, "none.pem"))).Message);
    }

    [Fact]
    public void A_missing_or_empty_cacert_is_a_usage_error()
    {
        Assert.Contains("--cacert", Assert.Throws<UsageException>(() => Get("https://127.0.0.1:1/", "--cacert", Path.Combine(directory, "none.pem"))).Message);
        string empty = Path.Combine(directory, "empty.pem");
        File.WriteAllText(empty, "");
        Assert.Contains("no PEM certificate", Assert.Throws<UsageException>(() => Get("https://127.0.0.1:1/", "--cacert", empty)).Message);
    }
}
