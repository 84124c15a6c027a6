using System.Runtime.InteropServices;
using Meerkat.Http;
using Meerkat.Tls;

namespace Meerkat.Cli;

/// <summary>Runs HTTP listeners on one manager until Ctrl-C or SIGTERM, printing each URL.</summary>
internal static class Server
{
    public static int Run(IReadOnlyList<string> urls, TlsArguments tls, Func<Manager, ConnectionHandler> createHandler, HttpServerOptions? options = null)
    {
        options ??= new HttpServerOptions();
        if (urls.Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase))) options.Tls = tls.CreateOptions();
        else if (tls.IsGiven) throw new UsageException("--cert, --key and --self-signed need an https:// --listen URL");
        using var manager = new Manager();
        var handler = createHandler(manager);
        foreach (var url in urls)
        {
            Connection listener;
            try
            {
                listener = manager.ListenHttp(url, handler, options);
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Console.Error.WriteLine($"meerkat: cannot listen on {url}: {ex.Message}");
                return ExitCodes.NetworkError;
            }
            var endPoint = listener.LocalEndPoint!;
            string host = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
            string scheme = listener.IsTls ? "https" : "http";
            Console.Out.WriteLine($"listening on {scheme}://{host}:{endPoint.Port}/");
        }
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
        manager.Run(stop.Token);
        Console.Out.WriteLine("stopped");
        return ExitCodes.Ok;
    }
}

/// <summary>The TLS options of <c>demo</c> and <c>serve</c>: <c>--cert FILE --key FILE</c> or <c>--self-signed</c>.</summary>
internal sealed class TlsArguments(string? cert, string? key, bool selfSigned)
{
    public bool IsGiven => cert is not null || key is not null || selfSigned;

    /// <summary>The server options; a self-signed certificate is made now and its fingerprint printed.</summary>
    public TlsServerOptions CreateOptions()
    {
        if (selfSigned)
        {
            if (cert is not null || key is not null) throw new UsageException("use either --self-signed or --cert/--key, not both");
            var certificate = TlsCertificates.CreateSelfSigned();
            Console.Out.WriteLine($"self-signed certificate for localhost, 127.0.0.1, ::1; SHA-256 fingerprint {TlsCertificates.Fingerprint(certificate)}");
            return new TlsServerOptions { Certificate = certificate };
        }
        if (cert is null) throw new UsageException("an https:// --listen URL needs --cert FILE [--key FILE] or --self-signed");
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
