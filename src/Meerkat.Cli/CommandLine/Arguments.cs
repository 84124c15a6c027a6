namespace Meerkat.Cli;

/// <summary>
/// A tiny, strict reader of a command's own words (named options with values, flags, positionals),
/// for the commands that parse their arguments themselves behind a <see cref="CommandLine.PassThrough"/>
/// command (the mqtt verbs). New commands declare System.CommandLine options instead (CliSymbols).
/// </summary>
internal sealed class Arguments
{
    private readonly Queue<string> queue;

    public Arguments(string[] args) => queue = new Queue<string>(args);

    public bool TryNext(out string argument) => queue.TryDequeue(out argument!);

    public string Value(string option) =>
        queue.TryDequeue(out var value) && !value.StartsWith("--", StringComparison.Ordinal)
            ? value
            : throw new UsageException($"{option} needs a value");
}
