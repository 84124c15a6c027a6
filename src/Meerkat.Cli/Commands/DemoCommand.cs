using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat demo</c>: one server showing every feature, each endpoint a few lines of handler.
/// </summary>
internal static class DemoCommand
{
    public static int Run(string[] args)
    {
        var listen = new List<string>();
        string root = Directory.GetCurrentDirectory();
        var arguments = new Arguments(args);
        var tls = new TlsArguments();
        while (arguments.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--listen": listen.Add(arguments.Value(argument)); break;
                case "--root": root = arguments.Value(argument); break;
                case "--cert" or "--key" or "--self-signed": tls.Take(argument, arguments); break;
                default: throw new UsageException($"unknown argument '{argument}'");
            }
        }
        if (listen.Count == 0) listen.Add("http://127.0.0.1:8000");
        if (!Directory.Exists(root)) throw new UsageException($"--root '{root}' is not a directory");
        using var telemetry = new DemoTelemetry();
        return Server.Run(listen, tls, manager => new DemoServer(manager, Path.GetFullPath(root), telemetry).Handle);
    }
}
