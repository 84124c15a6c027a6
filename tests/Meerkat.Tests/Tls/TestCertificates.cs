using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tests.Tls;

/// <summary>A test CA and certificates it issues: valid, expired, for another host; made once per run.</summary>
internal static class TestCertificates
{
    private static readonly Lazy<X509Certificate2> LazyCa = new(() => CreateCa());

    public static X509Certificate2 Ca => LazyCa.Value;

    /// <summary>Issued by <see cref="Ca"/> for localhost and 127.0.0.1.</summary>
    public static X509Certificate2 Localhost { get; } = Issue(["localhost", "127.0.0.1"], DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

    /// <summary>Issued by <see cref="Ca"/> for localhost, expired yesterday.</summary>
    public static X509Certificate2 Expired { get; } = Issue(["localhost", "127.0.0.1"], DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));

    /// <summary>Issued by <see cref="Ca"/> for other.example only.</summary>
    public static X509Certificate2 OtherHost { get; } = Issue(["other.example"], DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

    public static X509Certificate2Collection Roots => [Ca];

    public static X509Certificate2 Issue(string[] names, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
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
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        using var issued = request.Create(Ca, notBefore, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes a certificate and its key as PEM files in a fresh directory.</summary>
    public static (string Cert, string Key) WritePem(X509Certificate2 certificate, string directory)
    {
        Directory.CreateDirectory(directory);
        string cert = Path.Combine(directory, "cert.pem"), key = Path.Combine(directory, "key.pem");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    private static X509Certificate2 CreateCa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Meerkat Test CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(ca.Export(X509ContentType.Pkcs12), null);
    }
}
