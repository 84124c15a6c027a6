using System.CommandLine;
using Meerkat.Cli.CommandLine;
using Meerkat.Diagnostics;

namespace Meerkat.Cli;

/// <summary><c>meerkat serve</c>: a static file server (a directory or a .zip) with authentication, CORS,
/// extra headers, a single-page-app fallback, reverse proxy mounts and Prometheus metrics, and a one-line
/// access log per request. What the flags build is <see cref="SiteServer"/>.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var server = new ServerSymbols();
        var path = CliSymbols.Positional("DIR|FILE.zip", "the directory or zip archive to serve (default: the current directory)");
        var listing = CliSymbols.Flag("--listing", "list the files of a directory that has no index.html");
        var auth = CliSymbols.Value("--auth", "USER:PASS", "require HTTP Basic authentication with this user and password");
        var authFile = CliSymbols.Value("--auth-file", "FILE", "require HTTP Basic authentication; FILE has user:password lines");
        var cors = CliSymbols.Repeated("--cors", "ORIGIN", "allow cross-origin requests from ORIGIN (* for any); repeatable");
        var header = CliSymbols.Repeated("--header", "'Name: value'", "add a header field to every response; repeatable");
        var spa = CliSymbols.Flag("--spa", "single-page app: unknown paths get /index.html");
        var proxy = CliSymbols.Repeated("--proxy", "PREFIX=URL", "forward PREFIX/... to URL/... (prefix removed), e.g. /api=http://127.0.0.1:9000; repeatable");
        var metrics = CliSymbols.Flag("--metrics", "answer GET /metrics with the server's metrics in the Prometheus text format (before any file of that name)");
        var command = new Command("serve", "static file server (directory or .zip) with auth, CORS, headers, SPA fallback and reverse proxy mounts")
        {
            path, listing, auth, authFile, cors, header, spa, proxy, metrics,
        };
        server.AddTo(command);
        command.SetAction(result =>
        {
            var settings = new SiteSettings
            {
                Path = result.GetValue(path),
                Listing = result.GetValue(listing),
                Auth = result.GetValue(auth),
                AuthFile = result.GetValue(authFile),
                CorsOrigins = result.GetValue(cors) ?? [],
                Headers = result.GetValue(header) ?? [],
                Spa = result.GetValue(spa),
                Proxies = result.GetValue(proxy) ?? [],
            };
            return Run(settings, result.GetValue(metrics), server.Urls(result), server.Tls(result), server.Threads(result), handler => server.Logged(result, handler));
        });
        return command;
    }

    private static int Run(SiteSettings settings, bool metrics, IReadOnlyList<string> listen, TlsArguments tls, int threads, Func<ConnectionHandler, ConnectionHandler> log)
    {
        // One exposition for every loop: it listens to the process-wide Meerkat meter. Without
        // --metrics nothing listens, and the loops measure nothing.
        using var prometheus = metrics ? new PrometheusMetrics() : null;
        Meerkat.Http.Routing.Router router;
        try
        {
            router = SiteServer.Build(settings, out string description, prometheus);
            Console.Out.WriteLine(description);
        }
        catch (ArgumentException error)
        {
            throw new UsageException(error.Message);
        }
        if (prometheus is not null) Console.Out.WriteLine("metrics at /metrics (Prometheus text format 0.0.4)");
        return Server.Run(listen, tls, threads, _ => log(router.Handle)); // one router serves every loop
    }
}
