using System.CommandLine;
using System.Diagnostics;
using Meerkat.Cli.CommandLine;
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
        var command = new Command("serve", "static file server with an access log") { directory, listing };
        server.AddTo(command);
        command.SetAction(result => Run(Path.GetFullPath(result.GetValue(directory) ?? Directory.GetCurrentDirectory()), result.GetValue(listing), server.Urls(result), server.Tls(result)));
        return command;
    }

    private static int Run(string root, bool listing, IReadOnlyList<string> listen, TlsArguments tls)
    {
        if (!Directory.Exists(root)) throw new UsageException($"'{root}' is not a directory");
        var files = new StaticFileOptions { Root = root, EnableDirectoryListing = listing };
        Console.Out.WriteLine($"serving {root}");
        return Server.Run(listen, tls, _ => (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage)
            {
                c.Tag = (Stopwatch.GetTimestamp(), e.Request!.ToString());
                c.ServeStatic(files);
            }
            else if (e.Kind == EventKind.HttpDone && c.Tag is (long started, string line))
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                Console.Out.WriteLine($"{DateTimeOffset.Now:yyyy-MM-ddTHH:mm:ss} {c.RemoteEndPoint} \"{line}\" {e.Request!.ResponseStatus} {elapsed.TotalMilliseconds:0.0} ms");
                c.Tag = null;
            }
        });
    }
}
