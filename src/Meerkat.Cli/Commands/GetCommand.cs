using System.Diagnostics;
using System.Text;
using Meerkat.Http.Client;
using Meerkat.Tls;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat get URL [-o FILE] [-C] [--retries N] [--timeout S] [-X METHOD] [-H 'Name: value']...
/// [-d DATA|@FILE] [-i] [--max-redirects N] [--cacert FILE] [--cert FILE --key FILE] [-k] [--compressed]</c>: fetches a URL with MeerkatHttpClient,
/// body to stdout or FILE. A plain GET to a file goes through DownloadAsync (a .part file, resumable with -C).
/// https:// verifies the server against the system store, or against the CA bundle of <c>--cacert</c>;
/// <c>-k/--insecure</c> accepts any certificate. A TLS failure is a network error whose message names the reason.
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
        /// <summary>-d @FILE: streamed from the file as it is sent (any size, bounded memory).</summary>
        public string? DataFile;
        public bool HasData => Data is not null || DataFile is not null;
        public int Retries;
        public int MaxRedirects = 10;
        public TimeSpan? Timeout;
        public string? CaCert;
        public string? ClientCert;
        public string? ClientKey;
        public bool Insecure;
        public bool Compressed;
        public List<KeyValuePair<string, string>> Headers { get; } = [];
        public Stream? Stdout;
        public TextWriter Stderr = Console.Error;
    }

    public static int Run(string[] args) => Run(args, stdout: null, Console.Error);

    /// <summary>The command with its output streams given (tests run it in-process); a null
    /// <paramref name="stdout"/> is the process's standard output.</summary>
    internal static int Run(string[] args, Stream? stdout, TextWriter stderr)
    {
        var settings = Parse(args);
        settings.Stdout = stdout;
        settings.Stderr = stderr;
        var options = new MeerkatHttpClientOptions
        {
            MaxRetries = settings.Retries,
            MaxRedirects = settings.MaxRedirects,
            Tls = ClientTls.Options(settings.CaCert, settings.Insecure, settings.ClientCert, settings.ClientKey),
            AutomaticDecompression = settings.Compressed,
        };
        if (settings.Timeout is { } timeout) options.TotalTimeout = timeout;
        using var client = new MeerkatHttpClient(options);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            return settings.Output is not null && settings.Method == "GET" && !settings.HasData && !settings.IncludeHead && !settings.Compressed
                ? DownloadAsync(client, settings, cancel.Token).GetAwaiter().GetResult()
                : FetchAsync(client, settings, cancel.Token).GetAwaiter().GetResult();
        }
        catch (HttpClientException ex) when (ex.StatusCode >= 400)
        {
            return Fail(settings, ExitCodes.HttpError, ex.Message);
        }
        catch (NotSupportedException ex)
        {
            return Fail(settings, ExitCodes.BadArguments, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException or UnauthorizedAccessException)
        {
            return Fail(settings, ExitCodes.NetworkError, $"{settings.Method} {settings.Url} failed: {OneLine(ex.Message)}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static async Task<int> DownloadAsync(MeerkatHttpClient client, Settings settings, CancellationToken token)
    {
        var options = new DownloadOptions { Resume = settings.Resume };
        options.Headers.AddRange(settings.Headers);
        if (!settings.Resume) File.Delete(settings.Output! + ".part");
        var bar = ShowsProgress(settings) ? new ProgressBar() : null;
        IProgress<DownloadProgress>? progress = bar is null ? null : new SyncProgress(p => bar.Show(p.BytesReceived, p.TotalBytes));
        await client.DownloadAsync(settings.Url!, settings.Output!, options, progress, token).ConfigureAwait(false);
        bar?.Finish();
        return ExitCodes.Ok;
    }

    private static async Task<int> FetchAsync(MeerkatHttpClient client, Settings settings, CancellationToken token)
    {
        var request = new HttpClientRequest(settings.Method, settings.Url!);
        if (settings.Data is { } data) request.Content = data; // not a null array: that would be an empty body
        request.Headers.AddRange(settings.Headers);
        await using var upload = settings.DataFile is { } path ? OpenData(path) : null;
        if (upload is not null)
        {
            request.ContentStream = upload;
            request.ContentStreamLength = upload.Length;
        }
        using var response = await client.SendAsync(request, token).ConfigureAwait(false);
        await using var output = settings.Output is not null ? File.Create(settings.Output)
            : settings.Stdout is { } stdout ? new NonClosingStream(stdout) : Console.OpenStandardOutput();
        if (settings.IncludeHead)
        {
            var head = new StringBuilder($"HTTP/1.{response.Head.VersionMinor} {response.StatusCode} {response.ReasonPhrase}\r\n");
            foreach (var (name, value) in response.Headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
            await output.WriteAsync(Encoding.Latin1.GetBytes(head.Append("\r\n").ToString()), token).ConfigureAwait(false);
        }
        var bar = ShowsProgress(settings) && settings.Output is not null ? new ProgressBar() : null;
        var buffer = new byte[64 * 1024];
        long received = 0;
        for (int n; (n = await response.Content.ReadAsync(buffer, token).ConfigureAwait(false)) > 0;)
        {
            await output.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
            received += n;
            bar?.Show(received, response.ContentLength >= 0 ? response.ContentLength : null);
        }
        bar?.Finish();
        if (response.StatusCode >= 400) return Fail(settings, ExitCodes.HttpError, $"{settings.Method} {response.RequestUri}: HTTP {response.StatusCode} {response.ReasonPhrase}");
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
                case "-d" or "--data":
                    string data = arguments.Value(argument);
                    if (data.StartsWith('@'))
                    {
                        settings.DataFile = data[1..];
                        OpenData(settings.DataFile).Dispose(); // a missing or unreadable file is a usage error, now
                    }
                    else
                    {
                        settings.Data = Encoding.UTF8.GetBytes(data);
                    }
                    break;
                case "--retries": settings.Retries = Number(argument, arguments.Value(argument)); break;
                case "--max-redirects": settings.MaxRedirects = Number(argument, arguments.Value(argument)); break;
                case "--cacert": settings.CaCert = arguments.Value(argument); break;
                case "--cert": settings.ClientCert = arguments.Value(argument); break;
                case "--key": settings.ClientKey = arguments.Value(argument); break;
                case "-k" or "--insecure": settings.Insecure = true; break;
                case "--compressed": settings.Compressed = true; break;
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
            throw new UsageException($"'{settings.Url}' is not an http:// or https:// URL");
        if (settings.HasData && !settings.MethodGiven) settings.Method = "POST";
        if (settings.Resume && (settings.Output is null || settings.Method != "GET" || settings.HasData || settings.IncludeHead || settings.Compressed))
            throw new UsageException("-C resumes a plain GET into a file: it needs -o FILE, and no -X, -d, -i or --compressed");
        return settings;
    }

    private static KeyValuePair<string, string> Header(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0) throw new UsageException($"-H takes 'Name: value', not '{text}'");
        return new(text[..colon].Trim(), text[(colon + 1)..].Trim());
    }

    private static FileStream OpenData(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UsageException($"cannot read -d @{path}: {ex.Message}");
        }
    }

    private static int Number(string option, string value) =>
        int.TryParse(value, out int n) && n >= 0 ? n : throw new UsageException($"{option} needs a whole number, not '{value}'");

    private static int Fail(Settings settings, int code, string message)
    {
        settings.Stderr.WriteLine($"meerkat get: {message}");
        return code;
    }

    /// <summary>A progress bar only on the process's own stderr, when it is a terminal.</summary>
    private static bool ShowsProgress(Settings settings) => settings.Stderr == Console.Error && !Console.IsErrorRedirected;

    /// <summary>Lets the command write to a caller's stream without closing it.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
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
