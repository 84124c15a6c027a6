using Meerkat.Tls;

namespace Meerkat.Cli;

/// <summary>The client-side TLS options of <c>--cacert FILE</c>, <c>--cert FILE --key FILE</c> and
/// <c>-k/--insecure</c>, shared by <c>meerkat get</c> and <c>meerkat ws</c>.</summary>
internal static class ClientTls
{
    /// <summary>Null (verification against the system store, no client certificate) without any option.</summary>
    /// <exception cref="UsageException">A file cannot be read or holds no PEM certificate, or --cert and --key are not given together.</exception>
    public static TlsClientOptions? Options(string? caCert, bool insecure, string? cert = null, string? key = null)
    {
        if (caCert is null && !insecure && cert is null && key is null) return null;
        var tls = new TlsClientOptions { AllowInvalidCertificates = insecure };
        if ((cert is null) != (key is null)) throw new UsageException("--cert and --key go together: the client certificate and its private key, PEM");
        if (cert is not null)
        {
            try
            {
                tls.ClientCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new UsageException($"cannot load --cert {cert} --key {key}: {ex.Message.ReplaceLineEndings(" ")}");
            }
        }
        if (caCert is null) return tls;
        try
        {
            tls.TrustPemFile(caCert);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new UsageException($"cannot read --cacert {caCert}: {ex.Message.ReplaceLineEndings(" ")}");
        }
        if (tls.TrustedRoots is not { Count: > 0 }) throw new UsageException($"--cacert {caCert} holds no PEM certificate");
        return tls;
    }
}
