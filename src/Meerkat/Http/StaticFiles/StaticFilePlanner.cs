// How this file works
// -------------------
// The one entry point the connection glue calls for a static file request. It decides,
// without touching a socket, what to send, from the options' FileSource (a directory, a zip
// archive, embedded resources...):
//   1. Method: GET and HEAD only; anything else is 405 with Allow (RFC 9110 §15.5.6).
//   2. Path: StaticFileResolver gives 400 / 404 / 301 / a listing / a file. A 404 may become
//      the single-page application's index file, or the options' not-found page (status 404).
//   3. Representation: the identity file, or a precompressed sibling (name.br, name.gz)
//      chosen from Accept-Encoding; any existing sibling makes the response Vary on it.
//      Each representation has its own length, ETag and Last-Modified (RFC 9110 §8.8.3.3).
//   4. Preconditions (RFC 9110 §13.2.2): 412, 304, or go on.
//   5. Range (RFC 9110 §14.2), GET only and only if If-Range holds: 206, 416, or whole 200.
// HEAD gets exactly the headers GET would, with no body (RFC 9110 §9.3.2). The options'
// response headers are added to every answer.
using System.Text;

namespace Meerkat.Http.StaticFiles;

/// <summary>Plans responses to static file requests. Stateless and thread-safe; touches only the file source.</summary>
internal static class StaticFilePlanner
{
    private const string Get = "GET";
    private const string Head = "HEAD";
    private const string AllowedMethods = "GET, HEAD";
    private const string TextPlain = "text/plain; charset=utf-8";

    // Precompressed siblings in server preference order, with their file suffixes.
    private static readonly string[] Codings = ["br", "gzip"];
    private static readonly string[] CodingSuffixes = [".br", ".gz"];

    /// <summary>Plans the response to a request for a static file.</summary>
    /// <param name="options">Where files live and how they are served.</param>
    /// <param name="method">The request method, case-sensitive (RFC 9110 §9.1).</param>
    /// <param name="rawTarget">The request target as received: percent-encoded, with or without query.</param>
    /// <param name="getRequestHeader">
    /// Returns a request header's value by name (case-insensitive), or null when absent. Repeated
    /// fields must be combined with ", " (RFC 9110 §5.3). Headers read: Range, If-Range, If-Match,
    /// If-None-Match, If-Modified-Since, If-Unmodified-Since, Accept-Encoding.
    /// </param>
    /// <returns>The status, headers and body source. Never throws for peer input; I/O errors propagate.</returns>
    public static StaticFileResponse Plan(
        StaticFileOptions options, string method, string rawTarget, Func<string, string?> getRequestHeader)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(getRequestHeader);
        StaticFileResponse response = PlanRequest(options, method, rawTarget, getRequestHeader);
        if (options.ResponseHeaders.Count == 0)
        {
            return response;
        }
        var headers = new List<KeyValuePair<string, string>>(response.Headers);
        headers.AddRange(options.ResponseHeaders.Select(h => new KeyValuePair<string, string>(h.Name, h.Value)));
        return new StaticFileResponse(response.StatusCode, headers, response.Entry, response.FileOffset, response.FileLength, response.Body);
    }

    private static StaticFileResponse PlanRequest(
        StaticFileOptions options, string method, string rawTarget, Func<string, string?> getRequestHeader)
    {
        bool isHead = method == Head;
        if (method != Get && !isHead)
        {
            return Text(405, isHead, [new("Allow", AllowedMethods)]);
        }
        StaticFileResolution resolution = StaticFileResolver.Resolve(options, rawTarget);
        return resolution.Kind switch
        {
            ResolutionKind.BadRequest => Text(400, isHead),
            ResolutionKind.Redirect => Text(301, isHead, [new("Location", resolution.Location!)]),
            ResolutionKind.Listing => Listing(resolution.ListingHtml!, isHead),
            ResolutionKind.File => PlanFile(options, method, resolution.Entry!, getRequestHeader),
            _ => PlanNotFound(options, method, rawTarget, getRequestHeader),
        };
    }

    /// <summary>Nothing there: the single-page application's index, the not-found page, or a short text.</summary>
    private static StaticFileResponse PlanNotFound(
        StaticFileOptions options, string method, string rawTarget, Func<string, string?> getRequestHeader)
    {
        bool isHead = method == Head;
        FileSource source = options.FileSource;
        if (options.SinglePageApplication && options.IndexFile is { Length: > 0 } index
            && IsNavigation(rawTarget, getRequestHeader("Accept")) && source.GetEntry(index) is { IsDirectory: false } app)
        {
            return PlanFile(options, method, app, getRequestHeader);
        }
        if (options.NotFoundPage is { } page && source.GetEntry(page.TrimStart('/')) is { IsDirectory: false } notFound)
        {
            var headers = new List<KeyValuePair<string, string>>
            {
                new("Content-Type", options.MimeTypes.GetContentType(notFound.Name)),
                new("Content-Length", notFound.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            };
            return new StaticFileResponse(404, headers, isHead ? null : notFound, 0, isHead ? 0 : notFound.Length);
        }
        return Text(404, isHead);
    }

    /// <summary>A browser navigating (Accept has text/html), or a path whose last segment has no extension.</summary>
    private static bool IsNavigation(string rawTarget, string? accept)
    {
        if (accept is not null && accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        return RequestPath.TryParse(rawTarget, out RequestPath? path) && (path!.Segments.Count == 0 || !path.Segments[^1].Contains('.'));
    }

    private static StaticFileResponse PlanFile(
        StaticFileOptions options, string method, FileEntry entry, Func<string, string?> getRequestHeader)
    {
        Representation selected = SelectRepresentation(options, entry, getRequestHeader(AcceptEncoding.Name), out bool hasVariants);
        var headers = new List<KeyValuePair<string, string>>();
        switch (ConditionalRequest.Evaluate(method, selected.EntityTag, selected.LastModified, getRequestHeader))
        {
            case ConditionalOutcome.NotModified:
                AddCacheHeaders(headers, selected, options, hasVariants);
                return new StaticFileResponse(304, headers);
            case ConditionalOutcome.PreconditionFailed:
                return Text(412, method == Head);
        }
        ByteRange range = SelectRange(method, selected, getRequestHeader);
        if (range.Kind == RangeKind.Unsatisfiable)
        {
            return Text(416, method == Head, [new("Content-Range", range.ContentRange(selected.Length))]);
        }
        bool isPartial = range.Kind == RangeKind.Satisfiable;
        long offset = isPartial ? range.Start : 0;
        long length = isPartial ? range.Length : selected.Length;
        AddRepresentationHeaders(headers, options, entry, selected, length, hasVariants);
        if (isPartial)
        {
            headers.Add(new("Content-Range", range.ContentRange(selected.Length)));
        }
        FileEntry? body = method == Head ? null : selected.Entry;
        return new StaticFileResponse(isPartial ? 206 : 200, headers, body, offset, body is null ? 0 : length);
    }

    private static ByteRange SelectRange(string method, Representation selected, Func<string, string?> getRequestHeader)
    {
        // §14.2: GET is the only method for which range handling is defined.
        string? rangeHeader = method == Get ? getRequestHeader(RangeHeader.Name) : null;
        bool applies = rangeHeader is not null
            && ConditionalRequest.RangeApplies(getRequestHeader(ConditionalRequest.IfRange), selected.EntityTag, selected.LastModified);
        return RangeHeader.Evaluate(applies ? rangeHeader : null, selected.Length);
    }

    private static Representation SelectRepresentation(
        StaticFileOptions options, FileEntry identity, string? acceptEncoding, out bool hasVariants)
    {
        hasVariants = false;
        if (!options.ServePrecompressed)
        {
            return Representation.Of(identity, null);
        }
        FileSource source = options.FileSource;
        var available = new List<string>(Codings.Length);
        var variants = new List<FileEntry>(Codings.Length);
        for (int i = 0; i < Codings.Length; i++)
        {
            if (source.GetEntry(identity.Path + CodingSuffixes[i]) is { IsDirectory: false } variant)
            {
                available.Add(Codings[i]);
                variants.Add(variant);
            }
        }
        hasVariants = available.Count > 0;
        string? coding = AcceptEncoding.Select(acceptEncoding, available.ToArray());
        return coding is null ? Representation.Of(identity, null) : Representation.Of(variants[available.IndexOf(coding)], coding);
    }

    private static void AddRepresentationHeaders(
        List<KeyValuePair<string, string>> headers, StaticFileOptions options, FileEntry identity,
        Representation selected, long contentLength, bool hasVariants)
    {
        headers.Add(new("Content-Type", options.MimeTypes.GetContentType(identity.Name)));
        headers.Add(new("Content-Length", contentLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        headers.Add(new("Last-Modified", HttpDate.Format(selected.LastModified)));
        headers.Add(new("Accept-Ranges", "bytes"));
        if (selected.Coding is not null)
        {
            headers.Add(new("Content-Encoding", selected.Coding));
        }
        AddCacheHeaders(headers, selected, options, hasVariants);
    }

    // The fields a 304 must repeat (RFC 9110 §15.4.5) and a 200 carries too.
    private static void AddCacheHeaders(
        List<KeyValuePair<string, string>> headers, Representation selected, StaticFileOptions options, bool hasVariants)
    {
        headers.Add(new("ETag", selected.EntityTag));
        if (hasVariants)
        {
            headers.Add(new("Vary", AcceptEncoding.Name));
        }
        if (options.CacheControl is not null)
        {
            headers.Add(new("Cache-Control", options.CacheControl));
        }
    }

    private static StaticFileResponse Listing(byte[] html, bool isHead) => new(
        200,
        [new("Content-Type", DirectoryListing.ContentType), new("Content-Length", html.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        body: isHead ? default : html);

    // A short text/plain body such as "404 Not Found\n", for statuses without a file.
    private static StaticFileResponse Text(int status, bool isHead, KeyValuePair<string, string>[]? extraHeaders = null)
    {
        byte[] body = Encoding.ASCII.GetBytes($"{status} {HttpStatusText.Of(status)}\n");
        var headers = new List<KeyValuePair<string, string>>(extraHeaders ?? [])
        {
            new("Content-Type", TextPlain),
            new("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        return new StaticFileResponse(status, headers, body: isHead ? default : body);
    }

    // One servable representation of the file: identity or a precompressed variant.
    private readonly record struct Representation(FileEntry Entry, long Length, DateTimeOffset LastModified, string EntityTag, string? Coding)
    {
        public static Representation Of(FileEntry entry, string? coding) =>
            new(entry, entry.Length, entry.LastModified, entry.GetEntityTag(coding), coding);
    }
}
