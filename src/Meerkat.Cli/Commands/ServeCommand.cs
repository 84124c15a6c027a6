using System.CommandLine;
using Meerkat.Cli.CommandLine;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Cli;

/// <summary><c>meerkat serve</c>: a static file server with a one-line access log per request.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var server = new ServerSymbols();
        var directory = CliSymbols.Positional("DIR", "the directory to serve (default: the current one)");
        var listing = CliSymbols.Flag("--listing", "list the files of a directory that has no index.html");
        var metrics = CliSymbols.Flag("--metrics", "answer GET /metrics with the server's metrics in the Prometheus text format (before any file of that name)");
        var command = new Command("serve", "static file server with an access log") { directory, listing, metrics };
        server.AddTo(command);
        command.SetAction(result => Run(Path.GetFullPath(result.GetValue(directory) ?? Directory.GetCurrentDirectory()), result.GetValue(listing), result.GetValue(metrics),
            server.Urls(result), server.Tls(result), server.Threads(result), handler => server.Logged(result, handler)));
        return command;
    }

    private static int Run(string root, bool listing, bool metrics, IReadOnlyList<string> listen, TlsArguments tls, int threads, Func<ConnectionHandler, ConnectionHandler> log)
    {
        if (!Directory.Exists(root)) throw new UsageException($"'{root}' is not a directory");
        var files = new StaticFileOptions { Root = root, EnableDirectoryListing = listing };
        Console.Out.WriteLine($"serving {root}");
        bool hintAtRoot = !listing && !File.Exists(Path.Combine(root, "index.html"));
        if (hintAtRoot) Console.Out.WriteLine(NoIndexHint);
        // One exposition for every loop: it listens to the process-wide Meerkat meter. Without
        // --metrics nothing listens, and the loops measure nothing.
        using var prometheus = metrics ? new PrometheusMetrics() : null;
        if (prometheus is not null) Console.Out.WriteLine("metrics at /metrics (Prometheus text format 0.0.4)");
        return Server.Run(listen, tls, threads, _ => log((c, e) =>
        {
            if (e.Kind != EventKind.HttpMessage) return;
            if (hintAtRoot && e.Request!.PathIs("/"u8)) c.Reply(404, NoIndexHint + "\n");
            else if (prometheus is not null && e.Request!.PathIs("/metrics"u8)) prometheus.Reply(c);
            else c.ServeStatic(files);
        }));
    }

    private const string NoIndexHint = "no index.html at /: add --listing to list the directory's files";
}
