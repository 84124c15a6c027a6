using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tls;

/// <summary>
/// TLS settings of a client connection. Verification is on by default: the server's certificate
/// must chain to a root of the system store (or of <see cref="TrustedRoots"/>), be valid now, and
/// name the host. Failures raise <see cref="EventKind.Error"/> with a <see cref="TlsException"/>
/// naming the reason.
/// </summary>
public sealed class TlsClientOptions
{
    /// <summary>The name sent as SNI and checked against the certificate. Default: the host of the URL
    /// (no SNI is sent for an IP address, but the certificate is still checked against it).</summary>
    public string? ServerName { get; set; }

    /// <summary>Trust these roots instead of the system store (a custom CA bundle).</summary>
    public X509Certificate2Collection? TrustedRoots { get; set; }

    /// <summary>A certificate, with its private key, to present when the server asks for one.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>ALPN protocols offered, in preference order. Default none.</summary>
    public IList<SslApplicationProtocol> ApplicationProtocols { get; } = [];

    /// <summary>Insecure: accept any server certificate (untrusted, expired, another host's).
    /// Only for development and tests, like curl's <c>-k</c>. Default false.</summary>
    public bool AllowInvalidCertificates { get; set; }

    /// <summary>Decides on the server certificate instead of the default checks (it receives what
    /// the platform found in <c>errors</c>).</summary>
    public TlsCertificateValidator? CertificateValidator { get; set; }

    /// <summary>How long the handshake may take from <see cref="EventKind.Connect"/>. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS versions allowed. Default <see cref="SslProtocols.None"/>: the system's choice.</summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.None;

    /// <summary>Reads a CA bundle (one or more PEM certificates) into <see cref="TrustedRoots"/>.</summary>
    public TlsClientOptions TrustPemFile(string path)
    {
        var roots = TrustedRoots ?? [];
        roots.ImportFromPemFile(path);
        TrustedRoots = roots;
        return this;
    }

    internal void Validate()
    {
        if (HandshakeTimeout <= TimeSpan.Zero) throw new ArgumentException("TlsClientOptions.HandshakeTimeout must be positive");
        if (ClientCertificate is { HasPrivateKey: false }) throw new ArgumentException("TlsClientOptions.ClientCertificate has no private key");
    }
}
