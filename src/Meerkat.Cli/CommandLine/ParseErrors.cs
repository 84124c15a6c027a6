using System.CommandLine;
using System.CommandLine.Parsing;

namespace Meerkat.Cli.CommandLine;

/// <summary>
/// Turns System.CommandLine's parse errors into meerkat's one-line messages: an unknown command or
/// option names the closest real one, an option without its value says so, a stray word is named.
/// </summary>
internal static class ParseErrors
{
    /// <summary>The message for the first problem of <paramref name="result"/> (which has errors).</summary>
    public static string Describe(ParseResult result)
    {
        var command = result.CommandResult.Command;
        if (result.Errors.FirstOrDefault(e => e.SymbolResult is ArgumentResult) is { } misplaced) return misplaced.Message;
        if (result.UnmatchedTokens is [var stray, ..])
        {
            if (CliSymbols.LooksLikeOption(stray)) return UnknownOption(stray, command);
            if (command.Subcommands.Count > 0) return UnknownCommand(stray, command);
            return $"unexpected argument '{stray}'";
        }
        var error = result.Errors[0];
        if (error.SymbolResult is OptionResult { Tokens.Count: 0 } option && option.Option.Arity.MinimumNumberOfValues > 0)
            return $"{option.IdentifierToken?.Value ?? option.Option.Name} needs a value";
        return error.Message;
    }

    public static string UnknownOption(string option, Command command) =>
        $"unknown option '{option}'{Hint(option, OptionNames(command))}";

    public static string UnknownCommand(string word, Command command) =>
        $"unknown command '{word}'{Hint(word, command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))} (see {MeerkatCommand.Path(command)} --help)";

    private static string Hint(string typed, IEnumerable<string> known) =>
        Typos.Closest(typed, known) is { } guess ? $" (did you mean '{guess}'?)" : "";

    /// <summary>Every spelling of every option that applies to <paramref name="command"/>,
    /// including the recursive ones of its parents (--help).</summary>
    private static IEnumerable<string> OptionNames(Command command)
    {
        var options = command.Options.AsEnumerable();
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            options = options.Concat(parent.Options.Where(o => o.Recursive));
        return options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith('-'));
    }
}
