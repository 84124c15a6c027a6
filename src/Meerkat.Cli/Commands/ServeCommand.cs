using System.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Cli;

/// <summary><c>meerkat serve</c>: a static file server with a one-line access log per request.</summary>
internal static class ServeCommand
{
    public static int Run(string[] args)
    {
        var listen = new List<string>();
        string? root = null;
        bool listing = false;
        var arguments = new Arguments(args);
        var tls = new TlsArguments();
        while (arguments.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--listen": listen.Add(arguments.Value(argument)); break;
                case "--listing": listing = true; break;
                case "--cert" or "--key" or "--self-signed": tls.Take(argument, arguments); break;
                case var dir when !dir.StartsWith('-') && root is null: root = dir; break;
                default: throw new UsageException($"unknown argument '{argument}'");
            }
        }
        root = Path.GetFullPath(root ?? Directory.GetCurrentDirectory());
        if (!Directory.Exists(root)) throw new UsageException($"'{root}' is not a directory");
        if (listen.Count == 0) listen.Add("http://127.0.0.1:8000");
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
