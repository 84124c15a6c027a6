// How this file works: the awaitable client. Each call becomes Exchanges run on the manager's
// loop thread (see Exchange and ConnectionPool); this file is the policy around them, on the
// caller's side: the total deadline, redirects (RFC 9110 §15.4) and retries with exponential
// backoff, jitter and Retry-After (RFC 9110 §10.2.3).
using System.Globalization;

namespace Meerkat.Http.Client;

/// <summary>
/// An HTTP/1.1 client with a per-origin keep-alive pool, redirects, timeouts and retries, running
/// on a Meerkat <see cref="Meerkat.Manager"/> loop. Thread-safe: any thread may send requests.
/// <c>http://</c> and <c>https://</c> URLs; TLS settings come from <see cref="MeerkatHttpClientOptions.Tls"/>
/// (verification against the system store by default), and a refused certificate or failed
/// handshake fails the call with a <see cref="Meerkat.Tls.TlsException"/> naming the reason.
/// </summary>
/// <remarks>
/// Responses stream: <see cref="SendAsync"/> completes when the head arrives, and the body is
/// read from <see cref="HttpClientResponse.Content"/> through a bounded buffer
/// (<see cref="MeerkatHttpClientOptions.ResponseBufferSize"/>); a slow reader slows the server
/// down instead of growing memory.
/// </remarks>
public sealed class MeerkatHttpClient : IDisposable, IAsyncDisposable
{
    private const int DrainLimit = 64 * 1024;
    private readonly ConnectionPool pool;
    private readonly Task? loop;
    private int disposed;

    /// <summary>Creates a client with its own manager, run on a dedicated thread until disposed.</summary>
    public MeerkatHttpClient(MeerkatHttpClientOptions? options = null)
        : this(new Manager(options?.Manager), options, ownsManager: true)
    {
    }

    /// <summary>Creates a client on a manager the caller runs (and disposes after the client).</summary>
    public MeerkatHttpClient(Manager manager, MeerkatHttpClientOptions? options = null)
        : this(manager ?? throw new ArgumentNullException(nameof(manager)), options, ownsManager: false)
    {
    }

    private MeerkatHttpClient(Manager manager, MeerkatHttpClientOptions? options, bool ownsManager)
    {
        Options = options ?? new MeerkatHttpClientOptions();
        Options.Validate();
        Manager = manager;
        pool = new ConnectionPool(manager, Options);
        if (ownsManager) loop = manager.RunAsync();
    }

    /// <summary>The settings; change them before the first request.</summary>
    public MeerkatHttpClientOptions Options { get; }

    /// <summary>The manager whose loop runs the connections.</summary>
    public Manager Manager { get; }

    /// <summary>Sends a request, following redirects and retrying as configured, and completes when
    /// the final response's head has arrived. Dispose the response.</summary>
    /// <exception cref="NotSupportedException">The URL (or a redirect) is neither http:// nor https://.</exception>
    /// <exception cref="Meerkat.Tls.TlsException">The TLS handshake failed (untrusted, expired, name mismatch, handshake timeout, protocol).</exception>
    /// <exception cref="TimeoutException">A connect, response-head or total deadline passed.</exception>
    /// <exception cref="IOException">The connection failed (<see cref="HttpClientException"/> for HTTP-level failures).</exception>
    public Task<HttpClientResponse> SendAsync(HttpClientRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        HttpClientExtensions.RequireHttp(request.Uri);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        if (request.ContentStream is not null && request.Content is not null)
            throw new ArgumentException("set the request's Content or its ContentStream, not both", nameof(request));
        if (request.ContentStreamLength is < 0) throw new ArgumentOutOfRangeException(nameof(request), "ContentStreamLength must not be negative");
        if (request.ContentStreamLength is not null && request.ContentStream is null)
            throw new ArgumentException("ContentStreamLength is set but ContentStream is not", nameof(request));
        if (Options.AutomaticDecompression && request.GetHeader("Accept-Encoding") is null) request.AddHeader("Accept-Encoding", ContentDecoding.AcceptEncoding);
        if (Options.TotalTimeout != Timeout.InfiniteTimeSpan) return SendWithDeadlineAsync(request, cancellationToken);
        // No reason function: a cancelled exchange fails with OperationCanceledException(token).
        return FollowAsync(request, cancellationToken, null);
    }

    private async Task<HttpClientResponse> SendWithDeadlineAsync(HttpClientRequest request, CancellationToken cancellationToken)
    {
        var total = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        total.CancelAfter(Options.TotalTimeout);
        Exception Reason() => cancellationToken.IsCancellationRequested
            ? new OperationCanceledException(cancellationToken)
            : new TimeoutException($"{request.Method} {request.Uri} did not complete within the total timeout of {Options.TotalTimeout.TotalSeconds:0.###} s");
        try
        {
            var response = await FollowAsync(request, total.Token, Reason).ConfigureAwait(false);
            response.Lifetime = total;
            return response;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && total.IsCancellationRequested)
        {
            total.Dispose();
            throw Reason();
        }
        catch
        {
            total.Dispose();
            throw;
        }
    }

    /// <summary>Sends a GET.</summary>
    public Task<HttpClientResponse> GetAsync(string url, CancellationToken cancellationToken = default) =>
        SendAsync(new HttpClientRequest("GET", UriOf(url)), cancellationToken);

    // The last URL string parsed by GetAsync: a client asked for one URL again and again parses it
    // once (Uri is immutable, so sharing it is safe).
    private sealed record ParsedUrl(string Text, Uri Uri);
    private volatile ParsedUrl? lastUrl;

    private Uri UriOf(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (lastUrl is { } last && string.Equals(last.Text, url, StringComparison.Ordinal)) return last.Uri;
        var uri = new Uri(url, UriKind.Absolute);
        lastUrl = new ParsedUrl(url, uri);
        return uri;
    }

    /// <summary>GETs a whole body. Throws <see cref="HttpClientException"/> for a status of 400 or more.</summary>
    public async Task<byte[]> GetBytesAsync(string url, CancellationToken cancellationToken = default)
    {
        using var response = await GetAsync(url, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode >= 400) response.EnsureSuccessStatusCode();
        return await response.ReadAsBytesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GETs a whole body as UTF-8 text. Throws <see cref="HttpClientException"/> for a status of 400 or more.</summary>
    public async Task<string> GetStringAsync(string url, CancellationToken cancellationToken = default) =>
        System.Text.Encoding.UTF8.GetString(await GetBytesAsync(url, cancellationToken).ConfigureAwait(false));

    /// <summary>Connections opened so far; a keep-alive pool opens few.</summary>
    public int ConnectionsOpened => pool.ConnectionsOpened;

    /// <summary>Requests sent on a connection behind others still being answered (<see cref="MeerkatHttpClientOptions.MaxPipelineDepth"/>).</summary>
    public int RequestsPipelined => pool.RequestsPipelined;

    private async Task<HttpClientResponse> FollowAsync(HttpClientRequest request, CancellationToken token, Func<Exception>? reason)
    {
        var current = request;
        int redirects = 0, attempt = 0;
        // Where a streamed body starts, to send it again; -1 when it cannot seek (sent once only).
        long bodyStart = request.ContentStream is { CanSeek: true } stream ? stream.Position : -1;
        Exchange? previous = null;
        while (true)
        {
            if (previous is not null && current.ContentStream is { } body)
            {
                // The last attempt's reader must be done with the stream before it is rewound.
                await previous.UploadStopped.ConfigureAwait(false);
                body.Position = bodyStart;
            }
            HttpClientResponse response;
            var exchange = new Exchange(pool, current, Options, token, reason, bodyStart);
            previous = exchange;
            try
            {
                pool.Track(exchange);
                pool.PostAcquire(exchange);
                response = await exchange.Task.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsRetryable(current, ex, attempt, token) && CanResend(current, bodyStart))
            {
                await Task.Delay(Backoff(attempt++), token).ConfigureAwait(false);
                continue;
            }
            if (Redirect(current, response, ref redirects) is { } next)
            {
                if (!CanResend(next, bodyStart)) return response; // a streamed body that cannot be sent again
                await DiscardAsync(response, token).ConfigureAwait(false);
                current = next;
                continue;
            }
            if (response.StatusCode == 417 && ExpectsContinue(current) && CanResend(current, bodyStart))
            {
                // RFC 9110 §10.1.1: a 417 to 100-continue says the chain does not do expectations: repeat without one.
                await DiscardAsync(response, token).ConfigureAwait(false);
                current = WithoutExpect(current);
                continue;
            }
            if (response.StatusCode is 503 or 429 && current.IsIdempotent && attempt < Options.MaxRetries && CanResend(current, bodyStart))
            {
                var delay = RetryAfter(response) ?? Backoff(attempt);
                attempt++;
                await DiscardAsync(response, token).ConfigureAwait(false);
                await Task.Delay(delay > Options.MaxRetryDelay ? Options.MaxRetryDelay : delay, token).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    private static bool ExpectsContinue(HttpClientRequest request) =>
        string.Equals(request.GetHeader("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase);

    private static HttpClientRequest WithoutExpect(HttpClientRequest request)
    {
        var next = new HttpClientRequest(request.Method, request.Uri)
        {
            Content = request.Content,
            ContentStream = request.ContentStream,
            ContentStreamLength = request.ContentStreamLength,
            BufferResponse = request.BufferResponse,
        };
        foreach (var (name, value) in request.Headers)
            if (!name.Equals("Expect", StringComparison.OrdinalIgnoreCase)) next.AddHeader(name, value);
        return next;
    }

    private static bool CanResend(HttpClientRequest request, long bodyStart) => request.ContentStream is null || bodyStart >= 0;

    /// <summary>Failed before any response arrived, on an idempotent request with attempts left. A refused
    /// certificate is not retried: it would be refused again.</summary>
    private bool IsRetryable(HttpClientRequest request, Exception error, int attempt, CancellationToken token) =>
        attempt < Options.MaxRetries && request.IsIdempotent && !token.IsCancellationRequested
        && error is IOException or TimeoutException
        && error is not Meerkat.Tls.TlsException { Reason: not (Meerkat.Tls.TlsFailure.HandshakeTimeout or Meerkat.Tls.TlsFailure.Protocol) }
        && error is not HttpClientException { IsResponseStarted: true } and not HttpClientException { IsFinal: true };

    private HttpClientRequest? Redirect(HttpClientRequest request, HttpClientResponse response, ref int redirects)
    {
        if (Options.MaxRedirects == 0 || response.StatusCode is not (301 or 302 or 303 or 307 or 308)) return null;
        var location = response.GetHeader("Location");
        if (location is null) return null;
        if (++redirects > Options.MaxRedirects)
        {
            response.Dispose();
            throw new HttpClientException($"too many redirects (more than {Options.MaxRedirects}) from {request.Uri}", true) { StatusCode = response.StatusCode };
        }
        if (!Uri.TryCreate(request.Uri, location, out var target))
        {
            response.Dispose();
            throw new HttpClientException($"{request.Uri} redirected to an invalid Location '{location}'", true) { StatusCode = response.StatusCode };
        }
        if (request.Uri.Scheme == Uri.UriSchemeHttps && target.Scheme == Uri.UriSchemeHttp && !Options.AllowHttpsToHttpRedirect)
        {
            response.Dispose();
            throw new HttpClientException($"refusing the redirect from https:// to http:// ({target}); set AllowHttpsToHttpRedirect to follow it", true) { StatusCode = response.StatusCode };
        }
        if (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps)
        {
            response.Dispose();
            throw new NotSupportedException($"{request.Uri} redirected to {target}: only http:// and https:// are supported");
        }
        // RFC 9110 §15.4: 301/302 (historically) and 303 switch to GET without a body; 307/308 repeat the request.
        bool toGet = response.StatusCode is 301 or 302 or 303 && request.Method != "HEAD";
        var next = new HttpClientRequest(toGet ? "GET" : request.Method, target)
        {
            Content = toGet ? null : request.Content,
            ContentStream = toGet ? null : request.ContentStream,
            ContentStreamLength = toGet ? null : request.ContentStreamLength,
            BufferResponse = request.BufferResponse,
        };
        bool sameOrigin = Uri.Compare(request.Uri, target, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0;
        foreach (var (name, value) in request.Headers)
        {
            bool credentials = name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase);
            bool content = name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) || name.Equals("Expect", StringComparison.OrdinalIgnoreCase);
            if (credentials && !sameOrigin || content && toGet) continue;
            next.AddHeader(name, value);
        }
        return next;
    }

    /// <summary>Reads a small unwanted body so its connection can be reused; a large one closes it.</summary>
    private static async Task DiscardAsync(HttpClientResponse response, CancellationToken token)
    {
        using (response)
        {
            if (response.ContentLength > DrainLimit) return;
            var buffer = new byte[8192];
            for (int total = 0; total <= DrainLimit;)
            {
                int n = await response.Content.ReadAsync(buffer, token).ConfigureAwait(false);
                if (n == 0) return;
                total += n;
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        double seconds = Options.RetryBaseDelay.TotalSeconds * Math.Pow(2, attempt);
        seconds = Math.Min(seconds, Options.MaxRetryDelay.TotalSeconds);
        return TimeSpan.FromSeconds(seconds * (0.75 + Random.Shared.NextDouble() * 0.5));
    }

    /// <summary>Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).</summary>
    internal static TimeSpan? RetryAfter(HttpClientResponse response)
    {
        var value = response.GetHeader("Retry-After");
        if (value is null) return null;
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)) return TimeSpan.FromSeconds(Math.Min(seconds, int.MaxValue));
        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var delay = date - DateTimeOffset.UtcNow;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>Closes every connection; requests in flight fail with <see cref="ObjectDisposedException"/>.
    /// A manager the client created is stopped and disposed. Never blocks for long: requests are failed
    /// from the calling thread, and a loop that does not stop within a few seconds (a handler blocking
    /// it) is left to dispose its manager when it returns.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        pool.AbandonAll();
        if (loop is null)
        {
            pool.Post(pool.CloseAll);
            return;
        }
        Manager.Stop();
        bool stopped;
        try
        {
            stopped = loop.Wait(DisposeTimeout);
        }
        catch (AggregateException)
        {
            stopped = true;
        }
        if (stopped) Manager.Dispose();
        else _ = loop.ContinueWith(_ => Manager.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>How long Dispose waits for the loop thread to stop (tests shorten it).</summary>
    internal TimeSpan DisposeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
