// How this file works: a response head copied out of the parser's buffer when it is parsed, so it
// outlives the callback (the parser's views do not). One object per response. Its strings come
// through a per-connection FieldStrings cache: a server answers a keep-alive connection with the
// same fields over and over (Server, Content-Type, often Date within a second), so equal bytes
// reuse the previous response's strings, and an identical header section its whole array.
namespace Meerkat.Http.Client;

/// <summary>
/// An HTTP response as seen by a client connection: status line, header fields and, once the
/// body ended, trailer fields. Raised as the subject of <see cref="EventKind.HttpHeaders"/>,
/// <see cref="EventKind.HttpBody"/>, <see cref="EventKind.HttpMessage"/> and
/// <see cref="EventKind.HttpDone"/> (read it with <c>e.Response</c>); it may be kept after the callback.
/// </summary>
public sealed class HttpResponse
{
    private List<KeyValuePair<string, string>>? trailers;
    // major × 10 + minor in one field: the object stays as small as HTTP/1.1's allocation tests count it.
    private readonly int version;

    internal HttpResponse(HttpHead head, string requestMethod, FieldStrings? strings = null)
    {
        StatusCode = head.StatusCode;
        ReasonPhrase = strings is null ? head.ReasonString : strings.Reason(head.Reason);
        version = 10 + head.VersionMinor;
        KeepAlive = head.KeepAlive;
        Framing = head.Framing;
        ContentLength = head.ContentLength;
        RequestMethod = requestMethod;
        Headers = strings is null ? FieldStrings.Copy(head.Headers) : strings.Fields(head.Headers);
    }

    /// <summary>A response received on an HTTP/2 stream (RFC 9113 §8.3.2): no reason phrase, no connection fields.</summary>
    internal HttpResponse(Meerkat.Http2.Http2HeaderSection section, string requestMethod, bool hasContent, FieldStrings? strings = null)
    {
        StatusCode = section.Status;
        ReasonPhrase = "";
        version = 20;
        KeepAlive = true;
        ContentLength = section.ContentLength;
        // HTTP/2 frames the body itself: "Chunked" stands for a length not announced, as for a request.
        Framing = !hasContent || requestMethod == "HEAD" || StatusCode is 204 or 304 ? HttpFraming.None
            : ContentLength >= 0 ? HttpFraming.ContentLength : HttpFraming.Chunked;
        RequestMethod = requestMethod;
        Headers = strings is null ? FieldStrings.Copy(section.Fields) : strings.Fields(section.Fields);
    }

    /// <summary>The status code, e.g. 200.</summary>
    public int StatusCode { get; }

    /// <summary>1 for HTTP/1.x, 2 for a response received on an HTTP/2 stream.</summary>
    public int VersionMajor => version / 10;

    /// <summary>The reason phrase as sent (may be empty).</summary>
    public string ReasonPhrase { get; }

    /// <summary>Minor HTTP version of the response: 0 for HTTP/1.0 and HTTP/2, 1 for HTTP/1.1.</summary>
    public int VersionMinor => version % 10;

    /// <summary>Whether the connection stays open after this response (RFC 9112 §9.3).</summary>
    public bool KeepAlive { get; }

    /// <summary>How the body is delimited (no body for HEAD, 1xx, 204 and 304).</summary>
    public HttpFraming Framing { get; }

    /// <summary>The Content-Length value, or -1 when absent.</summary>
    public long ContentLength { get; }

    /// <summary>The method of the request this response answers.</summary>
    public string RequestMethod { get; }

    /// <summary>The header fields, in the order received, names as sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>Trailer fields of a chunked body; filled when the body ends (<see cref="EventKind.HttpMessage"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers => (IReadOnlyList<KeyValuePair<string, string>>?)trailers ?? [];

    /// <summary>Body bytes received so far (de-chunked).</summary>
    public long BodyBytesReceived { get; internal set; }

    /// <summary>The first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetHeader(string name) => Find(Headers, name);

    /// <summary>The first trailer named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetTrailer(string name) => Find(Trailers, name);

    /// <inheritdoc/>
    public override string ToString() => VersionMajor == 2 ? $"HTTP/2 {StatusCode}" : $"HTTP/1.{VersionMinor} {StatusCode} {ReasonPhrase}";

    internal void SetTrailers(HttpHeaders fields)
    {
        if (fields.Count == 0) return;
        trailers ??= [];
        for (int i = 0; i < fields.Count; i++) trailers.Add(new(fields.GetNameString(i), fields.GetValueString(i)));
    }

    private static string? Find(IReadOnlyList<KeyValuePair<string, string>> fields, string name)
    {
        foreach (var field in fields)
            if (string.Equals(field.Key, name, StringComparison.OrdinalIgnoreCase)) return field.Value;
        return null;
    }
}

/// <summary>One connection's cache of the strings of its last response head (loop thread only).
/// Reusing a string needs its bytes to be equal, so the result is always what a fresh copy
/// would be; sharing the whole array is safe because it is only ever exposed read-only.</summary>
internal sealed class FieldStrings
{
    private KeyValuePair<string, string>[] last = [];
    private string lastReason = "";

    public string Reason(ReadOnlySpan<byte> reason) =>
        Latin1Equals(reason, lastReason) ? lastReason : lastReason = System.Text.Encoding.Latin1.GetString(reason);

    public KeyValuePair<string, string>[] Fields(HttpHeaders headers)
    {
        int count = headers.Count;
        KeyValuePair<string, string>[]? fresh = null;
        for (int i = 0; i < count; i++)
        {
            var name = headers.GetName(i);
            var value = headers.GetValue(i);
            if (fresh is null && i < last.Length && Latin1Equals(name, last[i].Key) && Latin1Equals(value, last[i].Value)) continue;
            if (fresh is null)
            {
                fresh = new KeyValuePair<string, string>[count];
                Array.Copy(last, fresh, i);
            }
            string nameString = i < last.Length && Latin1Equals(name, last[i].Key) ? last[i].Key : System.Text.Encoding.Latin1.GetString(name);
            string valueString = i < last.Length && Latin1Equals(value, last[i].Value) ? last[i].Value : System.Text.Encoding.Latin1.GetString(value);
            fresh[i] = new(nameString, valueString);
        }
        if (fresh is null && count != last.Length) fresh = count == 0 ? [] : last[..count];
        return fresh is null ? last : last = fresh;
    }

    public static KeyValuePair<string, string>[] Copy(HttpHeaders headers)
    {
        var fields = new KeyValuePair<string, string>[headers.Count];
        for (int i = 0; i < fields.Length; i++) fields[i] = new(headers.GetNameString(i), headers.GetValueString(i));
        return fields;
    }

    private static bool Latin1Equals(ReadOnlySpan<byte> bytes, string text)
    {
        if (bytes.Length != text.Length) return false;
        for (int i = 0; i < bytes.Length; i++)
            if (bytes[i] != text[i]) return false;
        return true;
    }
}
