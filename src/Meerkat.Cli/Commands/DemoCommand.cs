using System.CommandLine;
using Meerkat.Cli.CommandLine;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat demo</c>: one server showing every feature, each endpoint a few lines of handler.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var server = new ServerSymbols();
        var rootOption = CliSymbols.Value("--root", "DIR", "the directory /files/ serves (default: the current one)");
        var command = new Command("demo", "feature demo server: every endpoint listed at / (default http://127.0.0.1:8000)") { rootOption };
        server.AddTo(command);
        command.SetAction(result =>
        {
            string directory = result.GetValue(rootOption) ?? Directory.GetCurrentDirectory();
            if (!Directory.Exists(directory)) throw new UsageException($"--root '{directory}' is not a directory");
            string root = Path.GetFullPath(directory);
            using var telemetry = new DemoTelemetry(); // one for every loop: the meter is process-wide
            var api = new DemoItemsApi(); // one store for every loop
            return Server.Run(server.Urls(result), server.Tls(result), server.Threads(result),
                manager => server.Logged(result, new DemoServer(manager, root, telemetry).Routed(api)));
        });
        return command;
    }
}
