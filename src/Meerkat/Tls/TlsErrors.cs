using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tls;

/// <summary>Turns what SslStream and the platform's chain check report into a
/// <see cref="TlsException"/> whose message names the reason.</summary>
internal static class TlsErrors
{
    private const X509ChainStatusFlags UntrustedFlags =
        X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid;

    private const X509ChainStatusFlags ExpiredFlags = X509ChainStatusFlags.NotTimeValid;

    /// <summary>A refused certificate: untrusted first, then expired, then a host-name mismatch
    /// (the order a verifier checks in); the message lists every problem found.</summary>
    public static TlsException FromCertificate(string side, SslPolicyErrors errors, X509Chain? chain, string? expectedHost)
    {
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return new TlsException(TlsFailure.CertificateMissing, $"TLS handshake failed: the {side} sent no certificate");
        var flags = X509ChainStatusFlags.NoError;
        var details = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors) && chain is not null)
        {
            foreach (var status in chain.ChainStatus)
            {
                flags |= status.Status;
                if (!string.IsNullOrWhiteSpace(status.StatusInformation)) details.Add(status.StatusInformation.Trim());
            }
        }
        var problems = new List<string>();
        if ((flags & UntrustedFlags) != 0) problems.Add($"the {side} certificate is not trusted (untrusted root: self-signed or an unknown authority)");
        if ((flags & ExpiredFlags) != 0) problems.Add($"the {side} certificate has expired or is not yet valid");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)) problems.Add($"name mismatch: the {side} certificate is not for '{expectedHost}'");
        if (problems.Count == 0) problems.Add($"the {side} certificate was refused ({(details.Count > 0 ? string.Join("; ", details) : errors.ToString())})");
        var reason = (flags & UntrustedFlags) != 0 ? TlsFailure.Untrusted
            : (flags & ExpiredFlags) != 0 ? TlsFailure.Expired
            : errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) ? TlsFailure.NameMismatch
            : TlsFailure.CertificateRejected;
        return new TlsException(reason, "TLS handshake failed: " + string.Join("; ", problems));
    }

    /// <summary>A handshake that ended in an exception without a certificate refusal of ours.</summary>
    public static TlsException FromHandshake(string what, Exception error, bool transportEnded)
    {
        if (error is TlsException tls) return tls;
        if (transportEnded && error is IOException)
            return new TlsException(TlsFailure.Protocol, $"{what} failed: protocol error: the peer closed the connection during the handshake", error);
        string detail = error.InnerException is { } inner && inner.Message != error.Message ? $"{error.Message} ({inner.Message})" : error.Message;
        var reason = error is AuthenticationException && detail.Contains("certificate", StringComparison.OrdinalIgnoreCase)
            ? TlsFailure.CertificateRejected : TlsFailure.Protocol;
        return new TlsException(reason, $"{what} failed: {(reason == TlsFailure.Protocol ? "protocol error: " : "")}{detail}", error);
    }

    /// <summary>True when <paramref name="received"/>, the first bytes from the peer, cannot start a
    /// TLS record (content types 20 to 24, RFC 8446 §5.1): the peer speaks something else.</summary>
    public static bool IsNotTls(ReadOnlySpan<byte> received) => !received.IsEmpty && received[0] is < 20 or > 24;

    /// <summary>The peer answered with something that is not TLS: say so, and show what it sent
    /// (an HTTP server on a plain port answers "HTTP/1.1 400 ...").</summary>
    public static TlsException NotTls(string what, string peer, ReadOnlySpan<byte> start)
    {
        var text = new System.Text.StringBuilder();
        foreach (byte b in start)
        {
            if (b is (byte)'\r' or (byte)'\n') break;
            text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
        }
        return new TlsException(TlsFailure.Protocol, $"{what} failed: the {peer} did not answer TLS (it sent \"{text}\"): is it a plain-text port?");
    }
}
