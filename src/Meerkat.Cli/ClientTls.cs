using Meerkat.Tls;

namespace Meerkat.Cli;

/// <summary>The client-side TLS options of <c>--cacert FILE</c> and <c>-k/--insecure</c>, shared by
/// <c>meerkat get</c> and <c>meerkat ws</c>.</summary>
internal static class ClientTls
{
    /// <summary>Null (verification against the system store) without either option.</summary>
    /// <exception cref="UsageException">The CA file cannot be read or holds no PEM certificate.</exception>
    public static TlsClientOptions? Options(string? caCert, bool insecure)
    {
        if (caCert is null && !insecure) return null;
        var tls = new TlsClientOptions { AllowInvalidCertificates = insecure };
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
