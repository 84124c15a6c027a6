using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tls;

/// <summary>
/// TLS over the event manager: raw <c>tls://</c> listeners and connections, and what a handshake
/// negotiated. Everything runs on the loop thread; SslStream is driven by the loop, with no
/// thread-pool hop.
/// </summary>
/// <remarks>
/// Events of a TLS connection: <see cref="EventKind.Open"/>, <see cref="EventKind.Accept"/> or
/// <see cref="EventKind.Resolve"/>/<see cref="EventKind.Connect"/> (the TCP connection), then
/// <see cref="EventKind.TlsHandshake"/>, then <see cref="EventKind.Read"/> with plaintext
/// (<see cref="Connection.Received"/> holds plaintext), ..., <see cref="EventKind.Close"/>. A failed
/// handshake raises <see cref="EventKind.Error"/> with a <see cref="TlsException"/> naming the reason,
/// then <see cref="EventKind.Close"/>. Bytes sent before <see cref="EventKind.TlsHandshake"/> are queued.
/// <see cref="EventKind.Write"/> counts ciphertext bytes. <see cref="Connection.CloseAfterDrain"/> sends
/// close_notify after the queued plaintext; <see cref="Connection.Close"/> does not.
/// </remarks>
public static class TlsExtensions
{
    /// <summary>Listens for TLS on <c>tls://host:port</c> (port 0 picks one).</summary>
    /// <exception cref="ArgumentException">The URL or the options are invalid.</exception>
    public static Connection ListenTls(this Manager manager, string url, ConnectionHandler? handler, TlsServerOptions options, ListenOptions? listenOptions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = NetworkAddress.Parse(url);
        if (address.Scheme != "tls") throw new ArgumentException($"ListenTls takes tls:// URLs, not '{address.Scheme}://'", nameof(url));
        var endpoint = new TlsServerEndpoint(options, defaultProtocols: []);
        return manager.Listen(address, datagram: false, handler, listenOptions, protocol: null, security: c => new TlsLayer(c, endpoint));
    }

    /// <summary>Connects to <c>tls://host:port</c>, verifying the server as <paramref name="options"/>
    /// says (default: against the system store, for the URL's host).</summary>
    public static Connection ConnectTls(this Manager manager, string url, ConnectionHandler? handler, TlsClientOptions? options = null)
    {
        var address = NetworkAddress.Parse(url);
        if (address.Scheme != "tls") throw new ArgumentException($"ConnectTls takes tls:// URLs, not '{address.Scheme}://'", nameof(url));
        return manager.ConnectTls(new NetworkAddress("tcp", address.Host, address.Port), handler, options ?? new TlsClientOptions(), protocol: null);
    }

    /// <summary>For protocols over TLS (the HTTP client): an outbound connection with TLS under <paramref name="protocol"/>;
    /// ALPN offers <paramref name="defaultProtocols"/> when the options name none (the HTTP client with HTTP/2: h2 and http/1.1).</summary>
    internal static Connection ConnectTls(this Manager manager, NetworkAddress address, ConnectionHandler? handler, TlsClientOptions options, Protocol? protocol,
        IReadOnlyList<SslApplicationProtocol>? defaultProtocols = null)
    {
        options.Validate();
        var endpoint = new TlsClientEndpoint(options, address.Host, defaultProtocols);
        return manager.Connect(address, datagram: false, handler, protocol, c => new TlsLayer(c, endpoint));
    }

    /// <summary>For protocols over TLS (the HTTP server): a listener whose connections run TLS under the protocol.</summary>
    internal static Connection ListenTls(this Manager manager, NetworkAddress address, ConnectionHandler? handler, TlsServerOptions options, ListenOptions? listenOptions,
        Func<Connection, Protocol?> protocol, IReadOnlyList<SslApplicationProtocol> defaultProtocols)
    {
        var endpoint = new TlsServerEndpoint(options, defaultProtocols);
        return manager.Listen(address, datagram: false, handler, listenOptions, protocol, c => new TlsLayer(c, endpoint));
    }

    extension(Connection connection)
    {
        /// <summary>True when the connection runs TLS (for a listener: when its connections do).</summary>
        public bool IsTls => connection.Security is TlsLayer || connection.AcceptedSecurity is not null;

        /// <summary>What the handshake negotiated; null before <see cref="EventKind.TlsHandshake"/> or without TLS.</summary>
        public TlsSessionInfo? TlsSession => connection.Security is TlsLayer { Session: { } ssl } ? new TlsSessionInfo(ssl) : null;
    }
}

/// <summary>What a TLS handshake negotiated. A snapshot, safe to keep.</summary>
public sealed class TlsSessionInfo
{
    internal TlsSessionInfo(SslStream ssl)
    {
        Protocol = ssl.SslProtocol;
        CipherSuite = ssl.NegotiatedCipherSuite;
        ApplicationProtocol = ssl.NegotiatedApplicationProtocol;
        ServerName = string.IsNullOrEmpty(ssl.TargetHostName) ? null : ssl.TargetHostName;
        RemoteCertificate = ssl.RemoteCertificate as X509Certificate2;
    }

    /// <summary>The TLS version.</summary>
    public SslProtocols Protocol { get; }

    /// <summary>The cipher suite.</summary>
    public TlsCipherSuite CipherSuite { get; }

    /// <summary>The ALPN protocol agreed (empty when none).</summary>
    public SslApplicationProtocol ApplicationProtocol { get; }

    /// <summary>Server side: the SNI name the client asked for; client side: the name verified.</summary>
    public string? ServerName { get; }

    /// <summary>The peer's certificate (a client's only when one was asked for and sent).</summary>
    public X509Certificate2? RemoteCertificate { get; }
}
