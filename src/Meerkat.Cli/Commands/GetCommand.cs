using System.Diagnostics;
using System.Text;
using Meerkat.Http.Client;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat get URL [-o FILE] [-C] [--retries N] [--timeout S] [-X METHOD] [-H 'Name: value']...
/// [-d DATA|@FILE] [-i] [--max-redirects N]</c>: fetches a URL with MeerkatHttpClient, body to
/// stdout or FILE. A plain GET to a file goes through DownloadAsync (a .part file, resumable with -C).
/// </summary>
internal static class GetCommand
{
    private sealed class Settings
    {
        public string? Url;
        public string? Output;
        public bool Resume;
        public bool IncludeHead;
        public string Method = "GET";
        public bool MethodGiven;
        public byte[]? Data;
        public int Retries;
        public int MaxRedirects = 10;
        public TimeSpan? Timeout;
        public List<KeyValuePair<string, string>> Headers { get; } = [];
    }

    public static int Run(string[] args)
    {
        var settings = Parse(args);
        var options = new MeerkatHttpClientOptions { MaxRetries = settings.Retries, MaxRedirects = settings.MaxRedirects };
        if (settings.Timeout is { } timeout) options.TotalTimeout = timeout;
        using var client = new MeerkatHttpClient(options);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        try
        {
            return settings.Output is not null && settings.Method == "GET" && settings.Data is null && !settings.IncludeHead
                ? DownloadAsync(client, settings, cancel.Token).GetAwaiter().GetResult()
                : FetchAsync(client, settings, cancel.Token).GetAwaiter().GetResult();
        }
        catch (HttpClientException ex) when (ex.StatusCode >= 400)
        {
            return Fail(ExitCodes.HttpError, ex.Message);
        }
        catch (NotSupportedException ex)
        {
            return Fail(ExitCodes.BadArguments, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException or UnauthorizedAccessException)
        {
            return Fail(ExitCodes.NetworkError, $"{settings.Method} {settings.Url} failed: {ex.Message}");
        }
    }

    private static async Task<int> DownloadAsync(MeerkatHttpClient client, Settings settings, CancellationToken token)
    {
        var options = new DownloadOptions { Resume = settings.Resume };
        options.Headers.AddRange(settings.Headers);
        if (!settings.Resume) File.Delete(settings.Output! + ".part");
        var bar = Console.IsErrorRedirected ? null : new ProgressBar();
        IProgress<DownloadProgress>? progress = bar is null ? null : new SyncProgress(p => bar.Show(p.BytesReceived, p.TotalBytes));
        await client.DownloadAsync(settings.Url!, settings.Output!, options, progress, token).ConfigureAwait(false);
        bar?.Finish();
        return ExitCodes.Ok;
    }

    private static async Task<int> FetchAsync(MeerkatHttpClient client, Settings settings, CancellationToken token)
    {
        var request = new HttpClientRequest(settings.Method, settings.Url!) { Content = settings.Data };
        request.Headers.AddRange(settings.Headers);
        using var response = await client.SendAsync(request, token).ConfigureAwait(false);
        await using var output = settings.Output is null ? Console.OpenStandardOutput() : File.Create(settings.Output);
        if (settings.IncludeHead)
        {
            var head = new StringBuilder($"HTTP/1.{response.Head.VersionMinor} {response.StatusCode} {response.ReasonPhrase}\r\n");
            foreach (var (name, value) in response.Headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
            await output.WriteAsync(Encoding.Latin1.GetBytes(head.Append("\r\n").ToString()), token).ConfigureAwait(false);
        }
        var bar = Console.IsErrorRedirected || settings.Output is null ? null : new ProgressBar();
        var buffer = new byte[64 * 1024];
        long received = 0;
        for (int n; (n = await response.Content.ReadAsync(buffer, token).ConfigureAwait(false)) > 0;)
        {
            await output.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
            received += n;
            bar?.Show(received, response.ContentLength >= 0 ? response.ContentLength : null);
        }
        bar?.Finish();
        if (response.StatusCode >= 400) return Fail(ExitCodes.HttpError, $"{settings.Method} {response.RequestUri}: HTTP {response.StatusCode} {response.ReasonPhrase}");
        return ExitCodes.Ok;
    }

    private static Settings Parse(string[] args)
    {
        var settings = new Settings();
        var arguments = new Arguments(args);
        while (arguments.TryNext(out var argument))
        {
            switch (argument)
            {
                case "-o" or "--output": settings.Output = arguments.Value(argument); break;
                case "-C" or "--continue": settings.Resume = true; break;
                case "-i" or "--include": settings.IncludeHead = true; break;
                case "-X" or "--request": settings.Method = arguments.Value(argument); settings.MethodGiven = true; break;
                case "-H" or "--header": settings.Headers.Add(Header(arguments.Value(argument))); break;
                case "-d" or "--data": settings.Data = Data(arguments.Value(argument)); break;
                case "--retries": settings.Retries = Number(argument, arguments.Value(argument)); break;
                case "--max-redirects": settings.MaxRedirects = Number(argument, arguments.Value(argument)); break;
                case "--timeout":
                    if (!double.TryParse(arguments.Value(argument), System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds <= 0)
                        throw new UsageException("--timeout needs a positive number of seconds");
                    settings.Timeout = TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    if (argument.StartsWith('-') && argument.Length > 1) throw new UsageException($"unknown option '{argument}'");
                    if (settings.Url is not null) throw new UsageException($"one URL only ('{settings.Url}' and '{argument}')");
                    settings.Url = argument;
                    break;
            }
        }
        if (settings.Url is null) throw new UsageException("a URL is needed: meerkat get URL [-o FILE]");
        if (!Uri.TryCreate(settings.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"'{settings.Url}' is not an http:// URL");
        if (settings.Data is not null && !settings.MethodGiven) settings.Method = "POST";
        if (settings.Resume && (settings.Output is null || settings.Method != "GET" || settings.Data is not null || settings.IncludeHead))
            throw new UsageException("-C resumes a plain GET into a file: it needs -o FILE, and no -X, -d or -i");
        return settings;
    }

    private static KeyValuePair<string, string> Header(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0) throw new UsageException($"-H takes 'Name: value', not '{text}'");
        return new(text[..colon].Trim(), text[(colon + 1)..].Trim());
    }

    private static byte[] Data(string value)
    {
        if (!value.StartsWith('@')) return Encoding.UTF8.GetBytes(value);
        try
        {
            return File.ReadAllBytes(value[1..]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read -d {value}: {ex.Message}");
        }
    }

    private static int Number(string option, string value) =>
        int.TryParse(value, out int n) && n >= 0 ? n : throw new UsageException($"{option} needs a whole number, not '{value}'");

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"meerkat get: {message}");
        return code;
    }

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    /// <summary>One line on stderr, redrawn at most ten times a second.</summary>
    private sealed class ProgressBar
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private long lastDraw = -1000;

        public void Show(long bytes, long? total)
        {
            long now = clock.ElapsedMilliseconds;
            if (now - lastDraw < 100) return;
            lastDraw = now;
            double rate = bytes / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
            string percent = total is > 0 ? $"{100.0 * bytes / total.Value,5:0.0}% " : "";
            string size = total is > 0 ? $"{Mib(bytes)} / {Mib(total.Value)}" : Mib(bytes);
            Console.Error.Write($"\r{percent}{size}  {Mib((long)rate)}/s   ");
        }

        public void Finish()
        {
            lastDraw = -1000;
            Console.Error.WriteLine();
        }

        private static string Mib(long bytes) => $"{bytes / 1048576.0:0.0} MiB";
    }
}
