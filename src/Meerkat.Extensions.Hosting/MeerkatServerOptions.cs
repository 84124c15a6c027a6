using Meerkat.Http;

namespace Meerkat.Extensions.Hosting;

/// <summary>
/// Settings of the Meerkat hosted service, bound from the configuration section <c>Meerkat</c>
/// (appsettings.json, environment variables such as <c>Meerkat__Loops</c>, the command line
/// <c>--Meerkat:Loops 2</c>), then from the code given to <c>AddMeerkat</c>.
/// </summary>
/// <example>
/// <code>
/// {
///   "urls": "http://127.0.0.1:8080",
///   "Meerkat": { "Loops": 2, "ShutdownTimeout": "00:00:10",
///                "Manager": { "MaxConnections": 5000 }, "Http": { "IdleTimeout": "00:00:30" } }
/// }
/// </code>
/// </example>
public sealed class MeerkatServerOptions
{
    /// <summary>The URLs the HTTP handler listens on (<c>http://host:port</c>, or <c>https://</c> with
    /// <see cref="HttpServerOptions.Tls"/> set in <see cref="ConfigureHttp"/>). Default: the host's
    /// <c>urls</c> setting (<c>--urls</c>, <c>DOTNET_URLS</c>; several separated by <c>;</c>), else
    /// <c>http://127.0.0.1:5000</c>.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>How many managers (event loops) run, each on its own thread, sharing every listening
    /// port (SO_REUSEPORT, Linux) when there are several. Default 1.</summary>
    public int Loops { get; set; } = 1;

    /// <summary>How long a graceful stop lets requests in flight finish before the rest is closed
    /// (<see cref="Manager.Shutdown"/>). Keep it under the host's shutdown timeout (30 s by default);
    /// if the host's runs out first, what is left is closed at once. Default 25 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>The managers' settings that configuration can carry.</summary>
    public ManagerSettings Manager { get; set; } = new();

    /// <summary>The HTTP listeners' settings that configuration can carry.</summary>
    public HttpSettings Http { get; set; } = new();

    /// <summary>Code that adjusts each manager's options after configuration (a resolver, say). The host's
    /// ILogger and IMeterFactory are already in them.</summary>
    public Action<ManagerOptions>? ConfigureManager { get; set; }

    /// <summary>Code that adjusts the HTTP server options after configuration (TLS certificates, say).</summary>
    public Action<HttpServerOptions>? ConfigureHttp { get; set; }
}

/// <summary>The <see cref="ManagerOptions"/> configuration can set (section <c>Meerkat:Manager</c>); null keeps the default.</summary>
public sealed class ManagerSettings
{
    /// <summary><see cref="ManagerOptions.Backend"/>.</summary>
    public PollerBackend? Backend { get; set; }

    /// <summary><see cref="ManagerOptions.MaxConnections"/>.</summary>
    public int? MaxConnections { get; set; }

    /// <summary><see cref="ManagerOptions.ReceiveBufferSize"/>.</summary>
    public int? ReceiveBufferSize { get; set; }

    /// <summary><see cref="ManagerOptions.MaxReceiveBufferSize"/>.</summary>
    public int? MaxReceiveBufferSize { get; set; }

    /// <summary><see cref="ManagerOptions.SendHighWaterMark"/>.</summary>
    public int? SendHighWaterMark { get; set; }

    /// <summary><see cref="ManagerOptions.MaxSendBufferSize"/>.</summary>
    public int? MaxSendBufferSize { get; set; }

    /// <summary><see cref="ManagerOptions.ConnectTimeout"/>.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary><see cref="ManagerOptions.LingerTimeout"/>.</summary>
    public TimeSpan? LingerTimeout { get; set; }

    /// <summary><see cref="ManagerOptions.CheckInvariants"/>.</summary>
    public bool? CheckInvariants { get; set; }

    internal void ApplyTo(ManagerOptions options)
    {
        if (Backend is { } backend) options.Backend = backend;
        if (MaxConnections is { } maxConnections) options.MaxConnections = maxConnections;
        if (ReceiveBufferSize is { } receive) options.ReceiveBufferSize = receive;
        if (MaxReceiveBufferSize is { } maxReceive) options.MaxReceiveBufferSize = maxReceive;
        if (SendHighWaterMark is { } highWater) options.SendHighWaterMark = highWater;
        if (MaxSendBufferSize is { } maxSend) options.MaxSendBufferSize = maxSend;
        if (ConnectTimeout is { } connect) options.ConnectTimeout = connect;
        if (LingerTimeout is { } linger) options.LingerTimeout = linger;
        if (CheckInvariants is { } check) options.CheckInvariants = check;
    }
}

/// <summary>The <see cref="HttpServerOptions"/> configuration can set (section <c>Meerkat:Http</c>); null keeps the default.</summary>
public sealed class HttpSettings
{
    /// <summary><see cref="HttpServerOptions.MaxBufferedBodySize"/>.</summary>
    public long? MaxBufferedBodySize { get; set; }

    /// <summary><see cref="HttpServerOptions.MaxStreamedBodySize"/>.</summary>
    public long? MaxStreamedBodySize { get; set; }

    /// <summary><see cref="HttpServerOptions.HeaderTimeout"/>.</summary>
    public TimeSpan? HeaderTimeout { get; set; }

    /// <summary><see cref="HttpServerOptions.IdleTimeout"/>.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary><see cref="HttpServerOptions.SendStallTimeout"/>.</summary>
    public TimeSpan? SendStallTimeout { get; set; }

    /// <summary><see cref="HttpServerOptions.ServerName"/>.</summary>
    public string? ServerName { get; set; }

    internal void ApplyTo(HttpServerOptions options)
    {
        if (MaxBufferedBodySize is { } buffered) options.MaxBufferedBodySize = buffered;
        if (MaxStreamedBodySize is { } streamed) options.MaxStreamedBodySize = streamed;
        if (HeaderTimeout is { } header) options.HeaderTimeout = header;
        if (IdleTimeout is { } idle) options.IdleTimeout = idle;
        if (SendStallTimeout is { } stall) options.SendStallTimeout = stall;
        if (ServerName is { } name) options.ServerName = name;
    }
}
