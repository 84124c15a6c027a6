// How this file works: a TLS handshake's end, successful or not, measured once per connection
// (meerkat.tls_handshake.duration) and, when it failed, logged at Warning (Manager.Fail counts it) ("tls-failed":
// an operator wants to know that clients cannot connect, with the reason).
using System.Diagnostics;
using System.Security.Authentication;
using Meerkat.Tls;

namespace Meerkat.Diagnostics;

/// <summary>TLS handshake measurements and the <c>tls-failed</c> log record.</summary>
internal static class TlsTelemetry
{
    /// <summary>The handshake begun at <paramref name="started"/> (the manager's clock) ended: with
    /// <paramref name="protocol"/> negotiated, or with <paramref name="failure"/>.</summary>
    public static void HandshakeEnded(Connection connection, long started, SslProtocols protocol, Exception? failure)
    {
        var manager = connection.Manager;
        var metrics = manager.Metrics;
        string? errorType = failure is null ? null : failure is TlsException tls ? FailureOf(tls.Reason) : "protocol_error";
        if (metrics.TlsHandshakeDuration.Enabled)
        {
            var tags = new TagList { { TelemetryTags.Role, TelemetryTags.RoleOf(connection.Role) } };
            if (failure is null) tags.Add(TelemetryTags.TlsVersion, VersionOf(protocol));
            else tags.Add(TelemetryTags.ErrorType, errorType);
            metrics.TlsHandshakeDuration.Record(LoopClock.Seconds(started, manager.Ticks), tags);
        }
        if (failure is null) return;
        if (manager.IsLogging(LogSeverity.Warning))
            manager.Log(LogSeverity.Warning, "tls-failed", failure.Message, failure, connection.Id);
    }

    private static string VersionOf(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "1.3",
        SslProtocols.Tls12 => "1.2",
#pragma warning disable SYSLIB0039 // naming old versions is not using them
        SslProtocols.Tls11 => "1.1",
        SslProtocols.Tls => "1.0",
#pragma warning restore SYSLIB0039
        _ => "unknown",
    };

    private static string FailureOf(TlsFailure failure) => failure switch
    {
        TlsFailure.Untrusted => "certificate_untrusted",
        TlsFailure.Expired => "certificate_expired",
        TlsFailure.NameMismatch => "certificate_name_mismatch",
        TlsFailure.CertificateMissing => "certificate_missing",
        TlsFailure.CertificateRejected => "certificate_rejected",
        TlsFailure.HandshakeTimeout => "timeout",
        _ => "protocol_error",
    };
}
