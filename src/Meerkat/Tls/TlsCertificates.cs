using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tls;

/// <summary>Loading certificates for <see cref="TlsServerOptions"/> and <see cref="TlsClientOptions"/>,
/// and making a development certificate.</summary>
public static class TlsCertificates
{
    /// <summary>Reads a certificate and its private key from PEM files (the key may be in the
    /// certificate file: pass null for <paramref name="keyPath"/>).</summary>
    public static X509Certificate2 LoadPem(string certificatePath, string? keyPath = null) =>
        Usable(X509Certificate2.CreateFromPemFile(certificatePath, keyPath));

    /// <summary>Reads a certificate and its private key from a PKCS#12 (PFX) file.</summary>
    public static X509Certificate2 LoadPfx(string path, string? password = null) =>
        X509CertificateLoader.LoadPkcs12FromFile(path, password);

    /// <summary>Makes a self-signed ECDSA P-256 server certificate for development, valid from an
    /// hour ago for <paramref name="lifetime"/> (default 30 days), naming <paramref name="hostNames"/>
    /// (DNS names or IP addresses; default <c>localhost</c>, 127.0.0.1 and ::1). Clients trust it only
    /// when told to (a pinned fingerprint, <see cref="TlsClientOptions.TrustedRoots"/>, or the opt-out).</summary>
    public static X509Certificate2 CreateSelfSigned(IEnumerable<string>? hostNames = null, TimeSpan? lifetime = null)
    {
        var names = hostNames?.ToArray() is { Length: > 0 } given ? given : ["localhost", "127.0.0.1", "::1"];
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(name);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        return Usable(request.CreateSelfSigned(now.AddHours(-1), now + (lifetime ?? TimeSpan.FromDays(30))));
    }

    /// <summary>The SHA-256 fingerprint of a certificate, as colon-separated hex (what browsers show).</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>On Windows, SChannel cannot use an ephemeral key (PEM, CertificateRequest): round-trip through PKCS#12.</summary>
    private static X509Certificate2 Usable(X509Certificate2 certificate)
    {
        if (!OperatingSystem.IsWindows()) return certificate;
        using (certificate) return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
