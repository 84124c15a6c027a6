using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Reflection;

namespace Meerkat.Cli.CommandLine;

/// <summary>
/// The meerkat command line on System.CommandLine: a root command holding every command of
/// <see cref="CommandList"/>, per-command <c>--help</c>, <c>--version</c>, response files
/// (<c>@FILE</c>), the <c>[suggest]</c> directive behind shell completion, and one way out for
/// mistakes: "meerkat COMMAND: message" on stderr and exit status 2.
/// </summary>
internal static class MeerkatCommand
{
    public const string Description = "meerkat: an embeddable, event-driven networking toolkit for .NET";

    private const string Footer = """
        Exit status: 0 success, 2 bad arguments, 3 network error, 4 HTTP error (>= 400).
        Arguments can come from a file: meerkat @FILE (one or more per line).
        Shell completion: eval "$(meerkat completion bash)" (or zsh, fish).
        Every command and option: docs/cli.md; a command's own: meerkat COMMAND --help.
        """;

    /// <summary>Response files are expanded by <see cref="ResponseFiles"/> before parsing, not by the tokenizer.</summary>
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    public static RootCommand CreateRoot()
    {
        var root = new RootCommand(Description);
        foreach (var command in CommandList.Create()) root.Add(command);
        for (int i = root.Options.Count - 1; i >= 0; i--)
        {
            if (root.Options[i] is HelpOption or VersionOption) root.Options.RemoveAt(i);
        }
        root.Options.Add(new HelpOption("--help", "-h") { Action = new HelpWithFooter() });
        root.Options.Add(new VersionOption("--version", "-V") { Action = new PrintVersion() });
        root.SetAction(result =>
        {
            new HelpWithFooter().Invoke(result);
            return ExitCodes.BadArguments;
        });
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; the exit status.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = CreateRoot();
        ParseResult result;
        try
        {
            result = root.Parse(ResponseFiles.Expand(args, root), Parsing);
        }
        catch (UsageException ex)
        {
            error.WriteLine($"meerkat: {ex.Message}");
            return ExitCodes.BadArguments;
        }
        string name = Path(result.CommandResult.Command);
        if (result.Errors.Count > 0 && result.Action is ParseErrorAction)
        {
            error.WriteLine($"{name}: {ParseErrors.Describe(result)}");
            return ExitCodes.BadArguments;
        }
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // demo and serve handle their own signals
        };
        try
        {
            return result.Invoke(configuration);
        }
        catch (UsageException ex)
        {
            error.WriteLine($"{name}: {ex.Message}");
            return ExitCodes.BadArguments;
        }
    }

    /// <summary>Parses the arguments of one command on its own (tests run commands in-process this way).</summary>
    /// <exception cref="UsageException">The arguments do not parse; the message says why.</exception>
    public static ParseResult ParseAlone(Command command, string[] args)
    {
        var result = command.Parse(args, Parsing);
        if (result.Errors.Count > 0) throw new UsageException(ParseErrors.Describe(result));
        return result;
    }

    /// <summary>"meerkat", "meerkat get", "meerkat mqtt pub": how messages name a command.</summary>
    public static string Path(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null && c is not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, c.Name);
        return string.Join(' ', names.Prepend("meerkat"));
    }

    /// <summary>The version of the library, without the commit hash.</summary>
    public static string Version =>
        (typeof(Manager).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown").Split('+')[0];

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine($"meerkat {Version}");
            return ExitCodes.Ok;
        }
    }

    /// <summary>The generated help, then (for the root) exit statuses and where the full docs are.</summary>
    private sealed class HelpWithFooter : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            new HelpAction().Invoke(parseResult);
            if (parseResult.CommandResult.Command is RootCommand) parseResult.InvocationConfiguration.Output.WriteLine(Footer);
            return ExitCodes.Ok;
        }
    }
}
