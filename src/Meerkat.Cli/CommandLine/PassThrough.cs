using System.CommandLine;

namespace Meerkat.Cli.CommandLine;

/// <summary>
/// A command that takes every word after its name as is and hands them to a runner that parses them
/// itself (with <see cref="Arguments"/>): it still has its own <c>--help</c> (the usage text given),
/// suggestions when its name is mistyped, and completion of its name.
/// </summary>
internal static class PassThrough
{
    public static Command Create(string name, string description, Func<string[], int> run)
    {
        var words = new Argument<string[]>("ARGS") { Arity = ArgumentArity.ZeroOrMore, Description = "the command's own options and arguments (see above)" };
        var command = new Command(name, description) { words };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(result => run([.. result.GetValue(words) ?? [], .. result.UnmatchedTokens]));
        return command;
    }
}
