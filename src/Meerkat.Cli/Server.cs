using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tls;

namespace Meerkat.Cli;

/// <summary>
/// Runs HTTP listeners on a <see cref="ManagerGroup"/> of <c>--threads</c> loops until SIGINT
/// (Ctrl-C) or SIGTERM, printing each URL. The handler is made once per loop.
/// </summary>
internal static class Server
{
    public static int Run(IReadOnlyList<string> urls, TlsArguments tls, int threads, Func<Manager, ConnectionHandler> createHandler, HttpServerOptions? options = null)
    {
        options ??= new HttpServerOptions();
        if (urls.Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase))) options.Tls = tls.CreateOptions();
        else if (tls.IsGiven) throw new UsageException("--cert, --key and --self-signed need an https:// --listen URL");
        using var group = new ManagerGroup(new ManagerGroupOptions { Count = threads });
        var handlers = group.Managers.ToDictionary(m => m, createHandler);
        foreach (var url in urls)
        {
            IReadOnlyList<Connection> listeners;
            try
            {
                listeners = group.Listen((manager, listenOptions) => manager.ListenHttp(url, handlers[manager], options, listenOptions));
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
            catch (SocketException ex)
            {
                Console.Error.WriteLine($"meerkat: cannot listen on {url}: {Describe(ex)}");
                return ExitCodes.NetworkError;
            }
            var endPoint = listeners[0].LocalEndPoint!;
            string host = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
            string scheme = listeners[0].IsTls ? "https" : "http";
            Console.Out.WriteLine($"listening on {scheme}://{host}:{endPoint.Port}/");
        }
        Console.Out.WriteLine($"{group.Managers.Count} {(group.Managers.Count == 1 ? "thread" : "threads")}; Ctrl-C or SIGTERM stops");
        using var signals = new StopSignals(graceful: () => Stop(group), immediate: () => StopNow(group));
        group.Run();
        Console.Out.WriteLine("stopped");
        return ExitCodes.Ok;
    }

    /// <summary>How long the first signal lets requests in flight finish before what is left is closed.</summary>
    public static readonly TimeSpan GracefulDeadline = TimeSpan.FromSeconds(10);

    /// <summary>The first signal: stop accepting, let requests in flight finish (with
    /// <c>Connection: close</c>) within <see cref="GracefulDeadline"/>, then close the rest.</summary>
    private static void Stop(ManagerGroup group) => group.Shutdown(GracefulDeadline);

    /// <summary>The second signal: close everything now.</summary>
    private static void StopNow(ManagerGroup group)
    {
        group.Shutdown(TimeSpan.Zero);
        group.Stop();
    }

    private static string Describe(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "address already in use (another program is listening there)",
        SocketError.AddressNotAvailable => "address not available on this machine",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
        _ => ex.Message,
    };
}

/// <summary>The TLS options of <c>demo</c>, <c>serve</c> and <c>mqtt broker</c>: <c>--cert FILE --key FILE</c> or <c>--self-signed</c>.</summary>
internal sealed class TlsArguments
{
    private string? cert;
    private string? key;
    private bool selfSigned;

    /// <summary>None given yet: a command that reads its own words fills them with <see cref="Take"/>.</summary>
    public TlsArguments()
    {
    }

    public TlsArguments(string? cert, string? key, bool selfSigned) => (this.cert, this.key, this.selfSigned) = (cert, key, selfSigned);

    public bool IsGiven => cert is not null || key is not null || selfSigned;

    /// <summary>Takes <c>--cert FILE</c>, <c>--key FILE</c> or <c>--self-signed</c> from <paramref name="arguments"/>.</summary>
    public void Take(string option, Arguments arguments)
    {
        switch (option)
        {
            case "--cert": cert = arguments.Value(option); break;
            case "--key": key = arguments.Value(option); break;
            default: selfSigned = true; break;
        }
    }

    /// <summary>The server options; a self-signed certificate is made now and its fingerprint printed.</summary>
    public TlsServerOptions CreateOptions() => CreateOptions(Console.Out, "an https:// --listen URL");

    /// <summary>As <see cref="CreateOptions()"/>, printing to <paramref name="output"/>; <paramref name="what"/> names the listener in messages.</summary>
    public TlsServerOptions CreateOptions(TextWriter output, string what)
    {
        if (selfSigned)
        {
            if (cert is not null || key is not null) throw new UsageException("use either --self-signed or --cert/--key, not both");
            var certificate = TlsCertificates.CreateSelfSigned();
            output.WriteLine($"self-signed certificate for localhost, 127.0.0.1, ::1; SHA-256 fingerprint {TlsCertificates.Fingerprint(certificate)}");
            return new TlsServerOptions { Certificate = certificate };
        }
        if (cert is null) throw new UsageException($"{what} needs --cert FILE [--key FILE] or --self-signed");
        try
        {
            return TlsServerOptions.FromPemFiles(cert, key);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new UsageException($"cannot load the certificate '{cert}'{(key is null ? "" : $" with key '{key}'")}: {ex.Message}");
        }
    }
}
