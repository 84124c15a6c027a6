namespace Meerkat.Tls;

/// <summary>Why a TLS connection failed.</summary>
public enum TlsFailure
{
    /// <summary>The peer's certificate does not chain to a trusted root (self-signed, unknown CA).</summary>
    Untrusted,
    /// <summary>The peer's certificate (or one in its chain) has expired or is not yet valid.</summary>
    Expired,
    /// <summary>The server's certificate is not for the host name that was asked for.</summary>
    NameMismatch,
    /// <summary>The peer sent no certificate where one is required.</summary>
    CertificateMissing,
    /// <summary>The certificate was refused for another reason, or by the validation hook.</summary>
    CertificateRejected,
    /// <summary>The handshake did not finish within the handshake timeout.</summary>
    HandshakeTimeout,
    /// <summary>The peer broke the protocol, offered nothing in common, or closed during the handshake.</summary>
    Protocol,
}

/// <summary>A TLS failure, raised as the <see cref="Event.Error"/> of an <see cref="EventKind.Error"/>
/// event (which <see cref="EventKind.Close"/> follows). Its message names the reason.</summary>
public sealed class TlsException : MeerkatException
{
    /// <summary>Creates the exception.</summary>
    public TlsException(TlsFailure reason, string message, Exception? inner = null) : base(message, inner) => Reason = reason;

    /// <summary>Why the connection failed.</summary>
    public TlsFailure Reason { get; }
}
