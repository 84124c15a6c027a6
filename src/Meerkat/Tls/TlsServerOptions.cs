using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tls;

/// <summary>Whether a TLS server asks for a client certificate.</summary>
public enum ClientCertificateMode
{
    /// <summary>Do not ask (the default).</summary>
    None,
    /// <summary>Ask; a client without one is accepted, a client with one has it validated.</summary>
    Optional,
    /// <summary>Ask, and refuse clients without a valid certificate.</summary>
    Required,
}

/// <summary>
/// Validates a peer's certificate. <paramref name="certificate"/> is null when the peer sent none;
/// <paramref name="errors"/> is what the platform found. Return true to accept. Runs on the loop
/// thread, during the handshake: do not block.
/// </summary>
public delegate bool TlsCertificateValidator(X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors);

/// <summary>
/// TLS settings of a server: certificates (one, or several chosen by SNI), ALPN, client
/// certificates and the handshake timeout. Build one per listener and do not change it after.
/// </summary>
public sealed class TlsServerOptions
{
    private readonly Dictionary<string, X509Certificate2> byName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The certificate, with its private key, served when SNI names no other one.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Intermediate certificates sent along with the server certificate.</summary>
    public X509Certificate2Collection? IntermediateCertificates { get; set; }

    /// <summary>ALPN protocols offered, in preference order (e.g. <c>http/1.1</c>). Default none;
    /// <c>ListenHttp</c> uses <c>h2</c> and <c>http/1.1</c> when this is empty (only <c>http/1.1</c> without
    /// <c>HttpServerOptions.EnableHttp2</c>).</summary>
    public IList<SslApplicationProtocol> ApplicationProtocols { get; } = [];

    /// <summary>Whether to ask for client certificates. Default <see cref="ClientCertificateMode.None"/>.</summary>
    public ClientCertificateMode ClientCertificates { get; set; }

    /// <summary>Decides on a client certificate; without it, a certificate must chain to a trusted
    /// root (the system store, or <see cref="ClientCertificateAuthorities"/>).</summary>
    public TlsCertificateValidator? ClientCertificateValidator { get; set; }

    /// <summary>Roots trusted for client certificates instead of the system store.</summary>
    public X509Certificate2Collection? ClientCertificateAuthorities { get; set; }

    /// <summary>How long a handshake may take from accept. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS versions allowed. Default <see cref="SslProtocols.None"/>: the system's choice (TLS 1.2 and 1.3).</summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.None;

    /// <summary>Certificates added per host name for SNI.</summary>
    public IReadOnlyDictionary<string, X509Certificate2> CertificatesByName => byName;

    /// <summary>Serves <paramref name="certificate"/> to clients whose SNI names <paramref name="hostName"/>
    /// (exact, case-insensitive; <c>*.example.com</c> matches one label).</summary>
    public TlsServerOptions AddCertificate(string hostName, X509Certificate2 certificate)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey) throw new ArgumentException($"the certificate for '{hostName}' has no private key", nameof(certificate));
        byName[hostName] = certificate;
        return this;
    }

    /// <summary>Options with the certificate and private key read from PEM files (the key may be in the certificate file).</summary>
    public static TlsServerOptions FromPemFiles(string certificatePath, string? keyPath = null) =>
        new() { Certificate = TlsCertificates.LoadPem(certificatePath, keyPath) };

    /// <summary>Options with the certificate and key read from a PKCS#12 (PFX) file.</summary>
    public static TlsServerOptions FromPfxFile(string path, string? password = null) =>
        new() { Certificate = TlsCertificates.LoadPfx(path, password) };

    internal void Validate()
    {
        if (Certificate is null && byName.Count == 0) throw new ArgumentException("TlsServerOptions needs a Certificate (or certificates added by name)");
        if (Certificate is { HasPrivateKey: false }) throw new ArgumentException("TlsServerOptions.Certificate has no private key");
        if (HandshakeTimeout <= TimeSpan.Zero) throw new ArgumentException("TlsServerOptions.HandshakeTimeout must be positive");
    }
}
