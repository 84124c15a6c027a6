using Meerkat.Cli;
using Meerkat.Cli.CommandLine;

namespace Meerkat.Tests.Cli;

/// <summary>The meerkat command line itself: help, version, mistakes, response files, completion.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static (int Status, string Output, string Errors) Run(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        int status = MeerkatCommand.Run(args, output, errors);
        return (status, output.ToString(), errors.ToString());
    }

    [Fact]
    public void No_arguments_prints_the_help_and_exits_2()
    {
        var (status, output, _) = Run();
        Assert.Equal(ExitCodes.BadArguments, status);
        foreach (var command in new[] { "demo", "serve", "get", "ws", "completion" }) Assert.Contains($"  {command}", output, StringComparison.Ordinal);
        Assert.Contains("docs/cli.md", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_command_has_its_own_help()
    {
        var (status, output, errors) = Run("get", "--help");
        Assert.Equal((ExitCodes.Ok, ""), (status, errors));
        Assert.Contains(" get [<URL>] [options]", output, StringComparison.Ordinal);
        Assert.Contains("-o, --output <FILE>", output, StringComparison.Ordinal);
        Assert.DoesNotContain("--listing", output, StringComparison.Ordinal);
        Assert.Contains("--listing", Run("serve", "-h").Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_prints_the_library_version()
    {
        string expected = $"meerkat {typeof(Manager).Assembly.GetName().Version!.ToString(3)}\n";
        Assert.Equal((ExitCodes.Ok, expected, ""), Run("--version"));
        Assert.Equal(expected, Run("-V").Output);
    }

    [Theory]
    [InlineData(new[] { "gte", "http://x/" }, "meerkat: unknown command 'gte' (did you mean 'get'?) (see meerkat --help)")]
    [InlineData(new[] { "get", "--timout", "3", "http://x/" }, "meerkat get: unknown option '--timout' (did you mean '--timeout'?)")]
    [InlineData(new[] { "serve", "--listin" }, "meerkat serve: unknown option '--listin' (did you mean '--listing'?)")]
    [InlineData(new[] { "get", "http://x/", "--timeout" }, "meerkat get: --timeout needs a value")]
    [InlineData(new[] { "get", "http://x/", "-o", "--include" }, "meerkat get: -o needs a value")]
    [InlineData(new[] { "get", "http://x/", "http://y/" }, "meerkat get: unexpected argument 'http://y/'")]
    [InlineData(new[] { "get", "ftp://x/" }, "meerkat get: 'ftp://x/' is not an http:// or https:// URL")]
    [InlineData(new[] { "ws", "--what", "ws://x/" }, "meerkat ws: unknown option '--what'")]
    public void Mistakes_exit_2_with_one_line_that_names_them(string[] args, string message)
    {
        var (status, output, errors) = Run(args);
        Assert.Equal((ExitCodes.BadArguments, "", message), (status, output, errors.TrimEnd()));
    }

    [Fact]
    public void A_response_file_stands_for_its_words()
    {
        string file = Path.Combine(directory, "args.rsp");
        File.WriteAllText(file, "# the shell to complete for\ncompletion\n  bash\n");
        var (status, output, _) = Run("@" + file);
        Assert.Equal(ExitCodes.Ok, status);
        Assert.Contains("complete -o default -F _meerkat_complete meerkat", output, StringComparison.Ordinal);
        File.WriteAllText(file, "get 'http://x/' --timeout '-1'");
        Assert.Equal("meerkat get: --timeout needs a positive number of seconds", Run("@" + file).Errors.TrimEnd());
        Assert.StartsWith("meerkat: cannot read the response file", Run("@" + file + ".missing").Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void An_option_value_that_starts_with_at_is_not_a_response_file()
    {
        var (status, _, errors) = Run("get", "http://x/", "-d", "@" + Path.Combine(directory, "missing"));
        Assert.Equal(ExitCodes.BadArguments, status);
        Assert.StartsWith("meerkat get: cannot read -d @", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("meerkat g", "get")]
    [InlineData("meerkat get --ti", "--timeout")]
    [InlineData("meerkat serve --li", "--listen\n--listing")]
    public void The_suggest_directive_completes_commands_and_options(string line, string expected)
    {
        var (status, output, _) = Run($"[suggest:{line.Length}]", line);
        Assert.Equal(ExitCodes.Ok, status);
        Assert.Equal(expected, output.TrimEnd().ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _meerkat_complete meerkat")]
    [InlineData("zsh", "compdef _meerkat_complete meerkat")]
    [InlineData("fish", "complete -c meerkat")]
    public void Completion_prints_a_script_for_each_shell(string shell, string line)
    {
        var (status, output, _) = Run("completion", shell);
        Assert.Equal(ExitCodes.Ok, status);
        Assert.Contains(line, output, StringComparison.Ordinal);
        Assert.Contains("[suggest:", output, StringComparison.Ordinal);
    }
}
