using System.Reflection;
using Meerkat.Cli;

// The meerkat command: one verb per file in Commands/, dispatched here.
var commands = new Dictionary<string, Func<string[], int>>(StringComparer.Ordinal)
{
    ["demo"] = DemoCommand.Run,
    ["serve"] = ServeCommand.Run,
    ["get"] = GetCommand.Run,
    ["ws"] = WsCommand.Run,
    ["mqtt"] = MqttCommand.Run,
    ["sntp"] = SntpCommand.Run,
};

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Out.Write(Usage.Text);
    return args.Length == 0 ? ExitCodes.BadArguments : ExitCodes.Ok;
}
if (args[0] is "--version" or "-V")
{
    var version = typeof(Meerkat.Manager).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
    Console.Out.WriteLine($"meerkat {version.Split('+')[0]}");
    return ExitCodes.Ok;
}
if (!commands.TryGetValue(args[0], out var command))
{
    Console.Error.WriteLine($"meerkat: unknown command '{args[0]}' (see meerkat --help)");
    return ExitCodes.BadArguments;
}
try
{
    return command(args[1..]);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"meerkat {args[0]}: {ex.Message}");
    return ExitCodes.BadArguments;
}
