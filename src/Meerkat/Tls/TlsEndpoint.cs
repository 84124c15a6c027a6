using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Meerkat.Tls;

/// <summary>One side's handshake settings, prepared once (per listener, per connect) and used by
/// every <see cref="TlsLayer"/> made from them.</summary>
internal abstract class TlsEndpoint
{
    public abstract TimeSpan HandshakeTimeout { get; }

    /// <summary>Starts the handshake; its first steps run before this returns.</summary>
    public abstract Task AuthenticateAsync(SslStream ssl, TlsLayer layer);

    /// <summary>A chain policy that never blocks the loop on the network: no revocation fetches and
    /// no downloads of missing intermediates (servers must send theirs).</summary>
    protected static X509ChainPolicy ChainPolicy(X509Certificate2Collection? roots)
    {
        var policy = new X509ChainPolicy
        {
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        if (roots is { Count: > 0 })
        {
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(roots);
        }
        return policy;
    }
}

/// <summary>The server side: certificate contexts built once, the one for the client's SNI name chosen per handshake.</summary>
internal sealed class TlsServerEndpoint : TlsEndpoint
{
    private readonly TlsServerOptions options;
    private readonly SslStreamCertificateContext? defaultContext;
    private readonly Dictionary<string, SslStreamCertificateContext> contexts = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<SslApplicationProtocol> protocols;
    private readonly ServerOptionsSelectionCallback select;

    /// <param name="options">The listener's TLS settings.</param>
    /// <param name="defaultProtocols">ALPN protocols offered when the options name none (HTTP: h2 and http/1.1).</param>
    public TlsServerEndpoint(TlsServerOptions options, IReadOnlyList<SslApplicationProtocol> defaultProtocols)
    {
        options.Validate();
        this.options = options;
        if (options.Certificate is { } certificate) defaultContext = Context(certificate);
        foreach (var (name, named) in options.CertificatesByName) contexts[name] = Context(named);
        protocols = options.ApplicationProtocols.Count > 0 ? [.. options.ApplicationProtocols] : [.. defaultProtocols];
        select = Select;
    }

    public override TimeSpan HandshakeTimeout => options.HandshakeTimeout;

    public override Task AuthenticateAsync(SslStream ssl, TlsLayer layer) =>
        contexts.Count == 0
            ? ssl.AuthenticateAsServerAsync(For(layer, defaultContext!), CancellationToken.None)
            : ssl.AuthenticateAsServerAsync(select, layer, CancellationToken.None);

    private ValueTask<SslServerAuthenticationOptions> Select(SslStream ssl, SslClientHelloInfo hello, object? state, CancellationToken cancellationToken)
    {
        var context = Find(hello.ServerName) ?? defaultContext;
        if (context is null)
        {
            var layer = (TlsLayer)state!;
            layer.Refusal = new TlsException(TlsFailure.Protocol, $"TLS handshake failed: no certificate for server name '{hello.ServerName}'");
            throw layer.Refusal;
        }
        return ValueTask.FromResult(For((TlsLayer)state!, context));
    }

    private SslStreamCertificateContext? Find(string? name)
    {
        if (string.IsNullOrEmpty(name)) return null;
        if (contexts.TryGetValue(name, out var exact)) return exact;
        int dot = name.IndexOf('.');
        return dot > 0 && contexts.TryGetValue("*" + name[dot..], out var wildcard) ? wildcard : null;
    }

    private SslServerAuthenticationOptions For(TlsLayer layer, SslStreamCertificateContext context)
    {
        var result = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            EnabledSslProtocols = options.EnabledProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ApplicationProtocols = protocols.Count > 0 ? protocols : null,
            AllowTlsResume = !layer.IsOnVirtualNetwork,
        };
        if (options.ClientCertificates != ClientCertificateMode.None)
        {
            result.ClientCertificateRequired = true;
            result.CertificateChainPolicy = ChainPolicy(options.ClientCertificateAuthorities);
            result.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => CheckClient(layer, certificate, chain, errors);
        }
        return result;
    }

    private bool CheckClient(TlsLayer layer, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var client = certificate as X509Certificate2;
        if (client is null && options.ClientCertificates == ClientCertificateMode.Optional) return true;
        if (options.ClientCertificateValidator is { } validator)
        {
            if (validator(client, chain, errors)) return true;
            layer.Refusal = new TlsException(TlsFailure.CertificateRejected, "TLS handshake failed: the client certificate was rejected by the validation hook");
            return false;
        }
        errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;   // a client certificate names no host
        if (errors == SslPolicyErrors.None) return true;
        layer.Refusal = TlsErrors.FromCertificate("client", errors, chain, null);
        return false;
    }

    private static SslStreamCertificateContext Context(X509Certificate2 certificate) =>
        SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
}

/// <summary>The client side: verification on unless explicitly turned off.</summary>
internal sealed class TlsClientEndpoint(TlsClientOptions options, string host, IReadOnlyList<SslApplicationProtocol>? defaultProtocols = null) : TlsEndpoint
{
    public override TimeSpan HandshakeTimeout => options.HandshakeTimeout;

    public string TargetHost => options.ServerName ?? host;

    public override Task AuthenticateAsync(SslStream ssl, TlsLayer layer)
    {
        var settings = new SslClientAuthenticationOptions
        {
            TargetHost = TargetHost,
            EnabledSslProtocols = options.EnabledProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = ChainPolicy(options.TrustedRoots),
            ApplicationProtocols = options.ApplicationProtocols.Count > 0 ? [.. options.ApplicationProtocols] : defaultProtocols is { Count: > 0 } offered ? [.. offered] : null,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) => CheckServer(layer, certificate as X509Certificate2, chain, errors),
            AllowTlsResume = !layer.IsOnVirtualNetwork,
        };
        if (options.ClientCertificate is { } mine) settings.ClientCertificates = [mine];
        return ssl.AuthenticateAsClientAsync(settings, CancellationToken.None);
    }

    private bool CheckServer(TlsLayer layer, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (options.CertificateValidator is { } validator)
        {
            if (validator(certificate, chain, errors)) return true;
            layer.Refusal = new TlsException(TlsFailure.CertificateRejected, $"TLS handshake with {TargetHost} failed: the server certificate was rejected by the validation hook");
            return false;
        }
        if (errors == SslPolicyErrors.None || options.AllowInvalidCertificates) return true;
        layer.Refusal = TlsErrors.FromCertificate("server", errors, chain, certificate is null ? null : TargetHost);
        return false;
    }
}
