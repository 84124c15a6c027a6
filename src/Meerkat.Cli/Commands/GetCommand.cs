using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Meerkat.Cli.CommandLine;
using Meerkat.Http.Client;
using Meerkat.Tls;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat get URL [-o FILE] [-C] [--retries N] [--timeout S] [-X METHOD] [-H 'Name: value']...
/// [-d DATA|@FILE] [-i] [--max-redirects N] [--cacert FILE] [--cert FILE --key FILE] [-k] [--compressed] [--http2] [--http2-prior-knowledge]</c>: fetches a URL with MeerkatHttpClient,
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
        public bool Http2;
        public bool Http2PriorKnowledge;
        public List<KeyValuePair<string, string>> Headers { get; } = [];
        public Stream? Stdout;
        public TextWriter Stderr = Console.Error;
    }

    /// <summary>The <c>get</c> command, run against the process's stdout and the invocation's stderr.</summary>
    public static Command Create()
    {
        var symbols = new Symbols();
        var command = symbols.Create();
        command.SetAction(result => Execute(symbols.Bind(result), stdout: null, result.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>The command with its output streams given (tests run it in-process); a null
    /// <paramref name="stdout"/> is the process's standard output.</summary>
    /// <exception cref="UsageException">The arguments are wrong; the message says how.</exception>
    internal static int Run(string[] args, Stream? stdout, TextWriter stderr)
    {
        var symbols = new Symbols();
        return Execute(symbols.Bind(MeerkatCommand.ParseAlone(symbols.Create(), args)), stdout, stderr);
    }

    private static int Execute(Settings settings, Stream? stdout, TextWriter stderr)
    {
        settings.Stdout = stdout;
        settings.Stderr = stderr;
        var options = new MeerkatHttpClientOptions
        {
            MaxRetries = settings.Retries,
            MaxRedirects = settings.MaxRedirects,
            Tls = ClientTls.Options(settings.CaCert, settings.Insecure, settings.ClientCert, settings.ClientKey),
            AutomaticDecompression = settings.Compressed,
            Connection = new HttpClientConnectionOptions { EnableHttp2 = settings.Http2, Http2PriorKnowledge = settings.Http2PriorKnowledge },
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
            // The client's own messages often name the request already ("GET URL did not complete ..."): say it once.
            string request = $"{settings.Method} {settings.Url}", message = OneLine(ex.Message);
            return Fail(settings, ExitCodes.NetworkError, message.StartsWith(request, StringComparison.Ordinal) ? message : $"{request} failed: {message}");
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
        var result = await client.DownloadAsync(settings.Url!, settings.Output!, options, progress, token).ConfigureAwait(false);
        bar?.Show(result.Length, result.Length); // the last report may have been throttled: end at 100%
        bar?.Finish(settings.Output!);
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
            var head = new StringBuilder(response.Head.VersionMajor == 2 ? $"HTTP/2 {response.StatusCode}\r\n"
                : $"HTTP/1.{response.Head.VersionMinor} {response.StatusCode} {response.ReasonPhrase}\r\n");
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
        bar?.Finish(settings.Output!);
        if (response.StatusCode >= 400) return Fail(settings, ExitCodes.HttpError, $"{settings.Method} {response.RequestUri}: HTTP {response.StatusCode} {response.ReasonPhrase}");
        return ExitCodes.Ok;
    }

    /// <summary>The command's options and argument, and how they become <see cref="Settings"/>.</summary>
    private sealed class Symbols
    {
        private readonly Argument<string?> url = CliSymbols.Positional("URL", "the http:// or https:// URL to fetch");
        private readonly Option<string?> output = CliSymbols.Value("--output", "FILE", "write the body to FILE instead of stdout (a plain GET downloads through FILE.part)", "-o");
        private readonly Option<bool> resume = CliSymbols.Flag("--continue", "resume FILE.part of an earlier -o download with a Range request", "-C");
        private readonly Option<bool> include = CliSymbols.Flag("--include", "write the response head before the body", "-i");
        private readonly Option<string?> method = CliSymbols.Value("--request", "METHOD", "the request method (default GET, or POST with -d)", "-X");
        private readonly Option<string[]> headers = CliSymbols.Repeated("--header", "'Name: value'", "add a request header (repeatable)", "-H");
        private readonly Option<string?> data = CliSymbols.Value("--data", "DATA|@FILE", "send DATA as the body, or stream the file FILE", "-d");
        private readonly Option<string?> retries = CliSymbols.Value("--retries", "N", "retry a failed idempotent request up to N times (default 0)");
        private readonly Option<string?> timeout = CliSymbols.Value("--timeout", "S", "give up after S seconds in all");
        private readonly Option<string?> maxRedirects = CliSymbols.Value("--max-redirects", "N", "follow at most N redirects (default 10)");
        private readonly Option<string?> caCert = CliSymbols.Value("--cacert", "FILE", "trust the CA certificates of FILE (PEM) instead of the system store");
        private readonly Option<string?> clientCert = CliSymbols.Value("--cert", "FILE", "present this client certificate (PEM), with --key");
        private readonly Option<string?> clientKey = CliSymbols.Value("--key", "FILE", "the private key of --cert (PEM)");
        private readonly Option<bool> insecure = CliSymbols.Flag("--insecure", "accept any server certificate", "-k");
        private readonly Option<bool> compressed = CliSymbols.Flag("--compressed", "ask for gzip, deflate or br and write the decoded body");
        private readonly Option<bool> http2 = CliSymbols.Flag("--http2", "https://: offer HTTP/2 by ALPN and use it when the server agrees");
        private readonly Option<bool> http2PriorKnowledge = CliSymbols.Flag("--http2-prior-knowledge", "http://: speak HTTP/2 (h2c) from the first byte");

        public Command Create() => new("get", "HTTP(S) client: fetch a URL, the body to stdout or a file")
        {
            url, output, resume, include, method, headers, data, retries, timeout, maxRedirects, caCert, clientCert, clientKey, insecure, compressed, http2, http2PriorKnowledge,
        };

        public Settings Bind(ParseResult result)
        {
            var settings = new Settings
            {
                Url = result.GetValue(url),
                Output = result.GetValue(output),
                Resume = result.GetValue(resume),
                IncludeHead = result.GetValue(include),
                CaCert = result.GetValue(caCert),
                ClientCert = result.GetValue(clientCert),
                ClientKey = result.GetValue(clientKey),
                Insecure = result.GetValue(insecure),
                Compressed = result.GetValue(compressed),
                Http2 = result.GetValue(http2),
                Http2PriorKnowledge = result.GetValue(http2PriorKnowledge),
            };
            if (result.GetValue(method) is { } m)
            {
                settings.Method = m;
                settings.MethodGiven = true;
            }
            foreach (var header in result.GetValue(headers) ?? []) settings.Headers.Add(Header(header));
            if (result.GetValue(data) is { } text)
            {
                if (text.StartsWith('@'))
                {
                    settings.DataFile = text[1..];
                    OpenData(settings.DataFile).Dispose(); // a missing or unreadable file is a usage error, now
                }
                else
                {
                    settings.Data = Encoding.UTF8.GetBytes(text);
                }
            }
            if (result.GetValue(retries) is { } r) settings.Retries = Number("--retries", r);
            if (result.GetValue(maxRedirects) is { } max) settings.MaxRedirects = Number("--max-redirects", max);
            if (result.GetValue(timeout) is { } t)
            {
                if (!double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds <= 0)
                    throw new UsageException("--timeout needs a positive number of seconds");
                settings.Timeout = TimeSpan.FromSeconds(seconds);
            }
            return Validate(settings);
        }
    }

    private static Settings Validate(Settings settings)
    {
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

    /// <summary>One line on stderr, redrawn at most ten times a second, then a closing summary.</summary>
    private sealed class ProgressBar
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private long lastDraw = -1000;
        private long bytes;
        private long? total;

        public void Show(long bytes, long? total)
        {
            (this.bytes, this.total) = (bytes, total);
            long now = clock.ElapsedMilliseconds;
            if (now - lastDraw < 100) return;
            lastDraw = now;
            Draw();
        }

        /// <summary>Draws the last state (100% for a complete download), then the summary line.</summary>
        public void Finish(string savedTo)
        {
            Draw();
            Console.Error.WriteLine();
            Console.Error.WriteLine(Summary(bytes, clock.Elapsed, savedTo));
        }

        private void Draw()
        {
            double rate = bytes / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
            string percent = total is > 0 ? $"{100.0 * bytes / total.Value,5:0.0}% " : "";
            string size = total is > 0 ? $"{Mib(bytes)} / {Mib(total.Value)}" : Mib(bytes);
            Console.Error.Write($"\r{percent}{size}  {Mib((long)rate)}/s   ");
        }
    }

    /// <summary>"saved 3.0 MiB to FILE in 0.41 s (7.3 MiB/s)": what the user got, where, how fast.</summary>
    internal static string Summary(long bytes, TimeSpan elapsed, string savedTo)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"saved {Mib(bytes)} to {savedTo} in {seconds:0.00} s ({Mib((long)(bytes / seconds))}/s)");
    }

    private static string Mib(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");
}
