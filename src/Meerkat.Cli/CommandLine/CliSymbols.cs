using System.CommandLine;
using System.CommandLine.Parsing;

namespace Meerkat.Cli.CommandLine;

/// <summary>
/// The three shapes of option the commands use, and their positional arguments, all with the
/// same rules: a value that looks like a long option is refused ("--timeout needs a value"), and
/// a word that looks like an option but matched none is "unknown option '--bogus'", with the
/// closest real option suggested.
/// </summary>
internal static class CliSymbols
{
    /// <summary>An option taking one value, shown as <paramref name="valueName"/> in help.</summary>
    public static Option<string?> Value(string name, string valueName, string description, params string[] aliases)
    {
        var option = new Option<string?>(name, aliases) { HelpName = valueName, Description = description };
        option.Validators.Add(RefuseOptionsAsValues);
        return option;
    }

    /// <summary>An option that may be given many times, one value each time.</summary>
    public static Option<string[]> Repeated(string name, string valueName, string description, params string[] aliases)
    {
        var option = new Option<string[]>(name, aliases)
        {
            HelpName = valueName,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        option.Validators.Add(RefuseOptionsAsValues);
        return option;
    }

    /// <summary>An option without a value.</summary>
    public static Option<bool> Flag(string name, string description, params string[] aliases) =>
        new(name, aliases) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>Up to one positional word, named <paramref name="name"/>. A word that looks like an
    /// option lands here when no option matched it, and is reported as an unknown option.</summary>
    public static Argument<string?> Positional(string name, string description)
    {
        var argument = new Argument<string?>(name) { Description = description, Arity = ArgumentArity.ZeroOrOne };
        argument.Validators.Add(result =>
        {
            if (result.Tokens is [var word, ..] && LooksLikeOption(word.Value))
                result.AddError(ParseErrors.UnknownOption(word.Value, ((CommandResult)result.Parent!).Command));
        });
        return argument;
    }

    public static bool LooksLikeOption(string word) => word.Length > 1 && word[0] == '-';

    private static void RefuseOptionsAsValues(OptionResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (token.Value.StartsWith("--", StringComparison.Ordinal))
            {
                result.AddError($"{result.IdentifierToken?.Value ?? result.Option.Name} needs a value");
                return;
            }
        }
    }
}
