using System.CommandLine;
using System.CommandLine.Parsing;

namespace Meerkat.Cli.CommandLine;

/// <summary>
/// Response files: a word <c>@FILE</c> stands for the words in FILE (split as a shell would, any
/// number per line, <c>#</c> starting a comment line). Not after an option that takes a value:
/// there <c>@FILE</c> is the value (<c>get -d @FILE</c> streams the file, as curl does), which is why
/// meerkat expands them here instead of in System.CommandLine's tokenizer, which cannot tell.
/// Nothing after <c>--</c> is expanded, and response files may nest a few levels deep.
/// </summary>
internal static class ResponseFiles
{
    private const int MaxDepth = 8;

    /// <exception cref="UsageException">A response file cannot be read, or they nest too deep.</exception>
    public static string[] Expand(string[] args, Command root)
    {
        var takesValue = new HashSet<string>(StringComparer.Ordinal);
        Collect(root, takesValue);
        var expanded = new List<string>(args.Length);
        Expand(args, takesValue, expanded, depth: 0);
        return [.. expanded];
    }

    private static void Expand(IReadOnlyList<string> words, HashSet<string> takesValue, List<string> into, int depth)
    {
        bool literal = false;
        foreach (var word in words)
        {
            bool isValue = into.Count > 0 && takesValue.Contains(into[^1]);
            if (literal || isValue || word.Length < 2 || word[0] != '@')
            {
                literal |= word == "--" && !isValue;
                into.Add(word);
                continue;
            }
            if (depth == MaxDepth) throw new UsageException($"response files nest more than {MaxDepth} deep at '{word}'");
            Expand(Read(word[1..]), takesValue, into, depth + 1);
        }
    }

    private static List<string> Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UsageException($"cannot read the response file '{path}': {ex.Message}");
        }
        var words = new List<string>();
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.TrimStart().StartsWith('#')) continue;
            words.AddRange(CommandLineParser.SplitCommandLine(line));
        }
        return words;
    }

    /// <summary>Every spelling of every option in the tree that takes a value.</summary>
    private static void Collect(Command command, HashSet<string> takesValue)
    {
        foreach (var option in command.Options)
        {
            if (option.Arity.MaximumNumberOfValues == 0) continue;
            takesValue.Add(option.Name);
            takesValue.UnionWith(option.Aliases);
        }
        foreach (var child in command.Subcommands) Collect(child, takesValue);
    }
}
