using System.CommandLine;
using Meerkat.Cli.CommandLine;

namespace Meerkat.Cli;

/// <summary>The options every server command shares (<c>demo</c>, <c>serve</c>): where to listen and the TLS identity.</summary>
internal sealed class ServerSymbols
{
    public const string DefaultUrl = "http://127.0.0.1:8000";

    private readonly Option<string[]> listen = CliSymbols.Repeated("--listen", "URL", $"listen on URL (repeatable; default {DefaultUrl}; https:// needs --cert or --self-signed)");
    private readonly Option<string?> cert = CliSymbols.Value("--cert", "FILE", "the server certificate (PEM) for https:// URLs");
    private readonly Option<string?> key = CliSymbols.Value("--key", "FILE", "the private key of --cert (PEM), when not in the same file");
    private readonly Option<bool> selfSigned = CliSymbols.Flag("--self-signed", "make a throwaway certificate for localhost and print its fingerprint");
    private readonly Option<bool> quiet = CliSymbols.Flag("--quiet", "no access log: one line per request is a cost under load", "-q");
    private readonly Option<string?> threads = CliSymbols.Value("--threads", "N", $"run N event loops, one thread each, on the same port (default: one per core, {Environment.ProcessorCount} here)");

    public void AddTo(Command command)
    {
        command.Add(listen);
        command.Add(cert);
        command.Add(key);
        command.Add(selfSigned);
        command.Add(threads);
        command.Add(quiet);
    }

    /// <summary>Wraps the handler in the access log unless --quiet.</summary>
    public ConnectionHandler Logged(ParseResult result, ConnectionHandler handler) =>
        result.GetValue(quiet) ? handler : new AccessLog(Console.Out).Wrap(handler);

    /// <summary>The --listen URLs, or the default one.</summary>
    public IReadOnlyList<string> Urls(ParseResult result) => result.GetValue(listen) is { Length: > 0 } urls ? urls : [DefaultUrl];

    /// <summary>--threads N, or the number of processors.</summary>
    public int Threads(ParseResult result)
    {
        if (result.GetValue(threads) is not { } text) return Environment.ProcessorCount;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is > 0 and <= 1024
            ? n
            : throw new UsageException($"--threads needs a number from 1 to 1024, not '{text}'");
    }

    public TlsArguments Tls(ParseResult result) => new(result.GetValue(cert), result.GetValue(key), result.GetValue(selfSigned));
}
