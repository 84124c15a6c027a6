using System.CommandLine;

namespace Meerkat.Cli.CommandLine;

/// <summary>
/// Every command of meerkat, in the order --help lists them. Adding a command is one file that
/// builds its <see cref="Command"/> (see Commands/GetCommand.cs) and one line here.
/// </summary>
internal static class CommandList
{
    public static IEnumerable<Command> Create() =>
    [
        DemoCommand.Create(),
        ServeCommand.Create(),
        GetCommand.Create(),
        WsCommand.Create(),
        MqttCommand.Create(),
        SntpCommand.Create(),
        CompletionCommand.Create(),
    ];
}
