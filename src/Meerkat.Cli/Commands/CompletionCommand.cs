using System.CommandLine;
using Meerkat.Cli.CommandLine;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat completion bash|zsh|fish</c>: prints a script that makes the shell complete meerkat's
/// commands and options. Each script asks meerkat itself through System.CommandLine's
/// <c>[suggest:POSITION]</c> directive, so completion always matches the binary that answers.
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # meerkat completion for bash: eval "$(meerkat completion bash)"
        _meerkat_complete() {
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _meerkat_complete meerkat
        """;

    private const string Zsh = """
        # meerkat completion for zsh: eval "$(meerkat completion zsh)"
        _meerkat_complete() {
            local -a candidates
            candidates=("${(@f)$(${words[1]} "[suggest:${#BUFFER}]" "${BUFFER}" 2>/dev/null)}")
            compadd -- $candidates
        }
        compdef _meerkat_complete meerkat
        """;

    private const string Fish = """
        # meerkat completion for fish: meerkat completion fish | source
        complete -c meerkat -f -a '(set -l line (commandline -cp); meerkat "[suggest:"(string length -- $line)"]" "$line" 2>/dev/null)'
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash, zsh or fish" };
        shell.AcceptOnlyFromAmong("bash", "zsh", "fish");
        var command = new Command("completion", "print a shell completion script: eval \"$(meerkat completion bash)\"") { shell };
        command.SetAction(result =>
        {
            result.InvocationConfiguration.Output.WriteLine(result.GetValue(shell) switch
            {
                "bash" => Bash,
                "zsh" => Zsh,
                _ => Fish,
            });
            return ExitCodes.Ok;
        });
        return command;
    }
}
