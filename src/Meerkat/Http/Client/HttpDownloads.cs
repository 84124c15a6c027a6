// How this file works: download to a file through MeerkatHttpClient, resumable. The body goes
// to "<path>.part" (and the validator that identifies its version, ETag or Last-Modified, to
// "<path>.part.validator"); only a complete, checked file is renamed to <path>. Resuming sends
// Range with If-Range (RFC 9110 §14.2, §13.1.5): a 206 must start where the part ends
// (Content-Range, §14.4), a 200 means the server ignored the range or the file changed, and the
// download restarts from zero. Memory is bounded by the client's response buffer: its segments
// are written to the file as they are, without a copy buffer.
using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Meerkat.Http.Client;

/// <summary>How <c>DownloadAsync</c> behaves.</summary>
public sealed class DownloadOptions
{
    /// <summary>Continue from an existing <c>.part</c> file. Default true.</summary>
    public bool Resume { get; set; } = true;

    /// <summary>Expected SHA-256 of the whole file, in hex; a mismatch deletes the part and throws. Default none.</summary>
    public string? ExpectedSha256 { get; set; }

    /// <summary>Extra request header fields (not Range/If-Range).</summary>
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    /// <summary>Least time between two progress reports (the last report is always made). Default 100 ms.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>Progress of a download.</summary>
/// <param name="BytesReceived">Bytes of the file on disk so far, resumed bytes included.</param>
/// <param name="TotalBytes">The file's size when the server said it, else null.</param>
/// <param name="ResumedFrom">Where this attempt started (0 unless resumed).</param>
public readonly record struct DownloadProgress(long BytesReceived, long? TotalBytes, long ResumedFrom);

/// <summary>What <c>DownloadAsync</c> did.</summary>
/// <param name="Path">The complete file.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="ResumedFrom">Bytes kept from an earlier attempt (0 when downloaded from the start).</param>
/// <param name="Sha256">The file's SHA-256 in lower-case hex when a check was asked for, else null.</param>
public sealed record DownloadResult(string Path, long Length, long ResumedFrom, string? Sha256);

/// <summary>Downloads to files with <see cref="MeerkatHttpClient"/>.</summary>
public static class HttpDownloadExtensions
{
    private const int CopyBufferSize = 64 * 1024;
    // Below IOV_MAX (1024), so one gathering write is one pwritev.
    private const int MaxSegmentsPerWrite = 256;

    extension(MeerkatHttpClient client)
    {
        /// <summary>GETs <paramref name="url"/> into <paramref name="path"/>, through <c>path.part</c>, resuming
        /// an earlier partial download when the server supports ranges and the file did not change.</summary>
        /// <exception cref="HttpClientException">The server answered 400 or more (see <see cref="HttpClientException.StatusCode"/>),
        /// broke the protocol, or the checksum did not match.</exception>
        public async Task<DownloadResult> DownloadAsync(string url, string path, DownloadOptions? options = null,
            IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(url);
            ArgumentException.ThrowIfNullOrEmpty(path);
            options ??= new DownloadOptions();
            string part = path + ".part", validatorFile = part + ".validator";
            bool resume = options.Resume;
            while (true)
            {
                long existing = resume && File.Exists(part) ? new FileInfo(part).Length : 0;
                string? validator = existing > 0 && File.Exists(validatorFile) ? File.ReadAllText(validatorFile).Trim() : null;
                var request = new HttpClientRequest("GET", url);
                request.Headers.AddRange(options.Headers);
                // The file's own bytes: ranges and Content-Length count them, not a compressed form.
                if (client.Options.AutomaticDecompression && request.GetHeader("Accept-Encoding") is null) request.AddHeader("Accept-Encoding", "identity");
                if (existing > 0)
                {
                    request.AddHeader("Range", $"bytes={existing}-");
                    if (validator is { Length: > 0 }) request.AddHeader("If-Range", validator);
                }
                using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var (start, total, restart) = Plan(response, existing);
                if (restart)
                {
                    resume = false;
                    continue;
                }
                if (existing > 0 && start == existing && total == existing) return await FinishAsync(part, path, validatorFile, existing, options, progress, existing).ConfigureAwait(false);
                File.WriteAllText(validatorFile, ValidatorOf(response) ?? "");
                using (var file = File.OpenHandle(part, start > 0 ? FileMode.Open : FileMode.Create, FileAccess.Write, FileShare.Read))
                {
                    await CopyAsync(response, file, start, total, options, progress, cancellationToken).ConfigureAwait(false);
                }
                return await FinishAsync(part, path, validatorFile, new FileInfo(part).Length, options, progress, start).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Where the body starts in the file, the file's total size if known, and whether to start over.</summary>
    private static (long Start, long? Total, bool Restart) Plan(HttpClientResponse response, long existing)
    {
        switch (response.StatusCode)
        {
            case 206 when existing > 0:
                if (ContentRange(response.GetHeader("Content-Range")) is { } range && range.First == existing) return (existing, range.Total, false);
                return (0, null, true); // a range we did not ask for: start over without one
            case 416 when existing > 0:
                // The part may already be whole: "Content-Range: bytes */total" says so.
                var unsatisfied = response.GetHeader("Content-Range");
                if (unsatisfied is not null && unsatisfied.StartsWith("bytes */", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(unsatisfied.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out long size) && size == existing)
                    return (existing, existing, false);
                return (0, null, true);
            case >= 200 and < 300:
                return (0, response.ContentLength >= 0 && response.StatusCode == 200 ? response.ContentLength : null, false);
            default:
                throw new HttpClientException($"GET {response.RequestUri}: {response.StatusCode} {response.ReasonPhrase}", true) { StatusCode = response.StatusCode };
        }
    }

    /// <summary>Parses <c>bytes first-last/total</c> (RFC 9110 §14.4); total may be <c>*</c>.</summary>
    internal static (long First, long Last, long? Total)? ContentRange(string? value)
    {
        if (value is null || !value.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase)) return null;
        var span = value.AsSpan(6).Trim();
        int dash = span.IndexOf('-'), slash = span.IndexOf('/');
        if (dash <= 0 || slash < dash) return null;
        if (!long.TryParse(span[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out long first)
            || !long.TryParse(span[(dash + 1)..slash], NumberStyles.None, CultureInfo.InvariantCulture, out long last) || last < first)
            return null;
        var totalText = span[(slash + 1)..];
        if (totalText.SequenceEqual("*")) return (first, last, null);
        return long.TryParse(totalText, NumberStyles.None, CultureInfo.InvariantCulture, out long total) && total > last ? (first, last, total) : null;
    }

    /// <summary>A strong ETag, else Last-Modified: what If-Range may carry (RFC 9110 §13.1.5).</summary>
    private static string? ValidatorOf(HttpClientResponse response)
    {
        var etag = response.GetHeader("ETag");
        if (etag is not null && !etag.StartsWith("W/", StringComparison.Ordinal)) return etag;
        return response.GetHeader("Last-Modified");
    }

    /// <summary>Writes the body at <paramref name="start"/> as it arrives: the pipe's pooled segments
    /// go to the file as they are (no copy), every segment buffered at the time in one gathering
    /// write, on the reading thread (a page-cache write is shorter than a hop to another thread).</summary>
    private static async Task CopyAsync(HttpClientResponse response, SafeFileHandle file, long start, long? total,
        DownloadOptions options, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        long written = start;
        long lastReport = 0;
        long interval = (long)(options.ProgressInterval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        progress?.Report(new DownloadProgress(written, total, start));
        var taken = new List<ArraySegment<byte>>();
        var batch = new List<ReadOnlyMemory<byte>>(MaxSegmentsPerWrite);
        // TakeSegmentsAsync adds segments only when it returns true, so each batch is returned here.
        while (await response.Body.TakeSegmentsAsync(taken, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                for (int first = 0; first < taken.Count; first += MaxSegmentsPerWrite)
                {
                    batch.Clear();
                    long length = 0;
                    for (int i = first; i < Math.Min(taken.Count, first + MaxSegmentsPerWrite); i++)
                    {
                        batch.Add(taken[i]);
                        length += taken[i].Count;
                    }
                    RandomAccess.Write(file, batch, written);
                    written += length;
                }
            }
            finally
            {
                foreach (var segment in taken) ArrayPool<byte>.Shared.Return(segment.Array!);
                taken.Clear();
            }
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (progress is not null && now - lastReport >= interval)
            {
                lastReport = now;
                progress.Report(new DownloadProgress(written, total, start));
            }
        }
        progress?.Report(new DownloadProgress(written, total, start));
    }

    private static async Task<DownloadResult> FinishAsync(string part, string path, string validatorFile, long length,
        DownloadOptions options, IProgress<DownloadProgress>? progress, long resumedFrom)
    {
        string? sha = null;
        if (options.ExpectedSha256 is { } expected)
        {
            await using (var file = new FileStream(part, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferSize, useAsync: true))
                sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(file).ConfigureAwait(false));
            if (!sha.Equals(expected.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(part);
                File.Delete(validatorFile);
                throw new HttpClientException($"the SHA-256 of the download is {sha}, not the expected {expected}; the partial file was deleted", true);
            }
        }
        File.Move(part, path, overwrite: true);
        File.Delete(validatorFile);
        if (resumedFrom == length) progress?.Report(new DownloadProgress(length, length, resumedFrom));
        return new DownloadResult(path, length, resumedFrom, sha);
    }
}
