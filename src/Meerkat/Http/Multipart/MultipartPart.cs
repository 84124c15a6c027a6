// How this file works
// -------------------
// The headers of one part of a multipart/form-data body (RFC 7578 §4). A header block is
// "name: value" lines ending in CRLF (RFC 2046 §5.1.1 / RFC 5322 syntax); a line starting
// with SP or HTAB continues the previous value (obsolete folding, unfolded to one space).
// Bytes are decoded as UTF-8, which RFC 7578 §5.1 allows for field and file names.
// From Content-Disposition (RFC 7578 §4.2, RFC 6266) we take name and filename, where
// filename* (RFC 8187: UTF-8 or ISO-8859-1, percent-encoded) wins over filename; a value
// that is a single RFC 2047 encoded-word "=?utf-8?B?...?=" (which .NET's
// MultipartFormDataContent writes for non-ASCII names) is decoded. Content-Type defaults to
// text/plain (RFC 7578 §4.4). A missing Content-Disposition is tolerated: Name is then null.
using System.Text;

namespace Meerkat.Http.Multipart;

/// <summary>The headers of one part of a multipart body. FileName is exactly what the client sent: sanitise before using it as a path.</summary>
public sealed class MultipartPart
{
    /// <summary>The Content-Type assumed when a part has none (RFC 7578 §4.4).</summary>
    public const string DefaultContentType = "text/plain";

    private const string ContentDispositionName = "Content-Disposition";
    private const string ContentTypeName = "Content-Type";
    private const string EncodedWordPrefix = "=?";
    private const string EncodedWordSuffix = "?=";
    private const string Utf8Base64Marker = "utf-8?b?";
    private const byte Colon = (byte)':';

    private MultipartPart(int index, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        Index = index;
        Headers = headers;
        string? disposition = GetHeader(ContentDispositionName);
        DispositionType = disposition is null ? null : HeaderParameters.MainValue(disposition).ToString();
        Name = disposition is null ? null : Parameter(disposition, "name");
        FileName = disposition is null ? null : FileNameOf(disposition);
        ContentType = GetHeader(ContentTypeName) ?? DefaultContentType;
    }

    /// <summary>The part's position in the body, from 0.</summary>
    public int Index { get; }

    /// <summary>All header fields of the part, in order, names as sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The disposition type (normally <c>form-data</c>), or null without Content-Disposition.</summary>
    public string? DispositionType { get; }

    /// <summary>The form field name, or null when absent.</summary>
    public string? Name { get; }

    /// <summary>The file name (from <c>filename*</c> when present, else <c>filename</c>), or null for a plain field.</summary>
    public string? FileName { get; }

    /// <summary>The part's Content-Type, <see cref="DefaultContentType"/> when absent.</summary>
    public string ContentType { get; }

    /// <summary>The first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    /// <param name="name">A header name.</param>
    /// <returns>The value, or null.</returns>
    public string? GetHeader(string name)
    {
        foreach (KeyValuePair<string, string> header in Headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return header.Value;
            }
        }
        return null;
    }

    /// <summary>Parses a header block (each line ending in CRLF, without the final empty line).</summary>
    internal static MultipartPart? TryParse(int index, ReadOnlySpan<byte> block)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (Range range in block.Split("\r\n"u8))
        {
            ReadOnlySpan<byte> line = block[range];
            if (line.IsEmpty)
            {
                continue;
            }
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                if (headers.Count == 0)
                {
                    return null;
                }
                KeyValuePair<string, string> last = headers[^1];
                headers[^1] = new(last.Key, last.Value + " " + Encoding.UTF8.GetString(line).Trim());
                continue;
            }
            int colon = line.IndexOf(Colon);
            if (colon <= 0 || line[..colon].ContainsAny((byte)' ', (byte)'\t'))
            {
                return null;
            }
            headers.Add(new(Encoding.UTF8.GetString(line[..colon]), Encoding.UTF8.GetString(line[(colon + 1)..]).Trim()));
        }
        return new MultipartPart(index, headers);
    }

    private static string? FileNameOf(string disposition)
    {
        if (HeaderParameters.TryGet(disposition, "filename*", out string extended) && TryDecodeExtended(extended, out string decoded))
        {
            return decoded;
        }
        return Parameter(disposition, "filename");
    }

    private static string? Parameter(string disposition, string name) =>
        HeaderParameters.TryGet(disposition, name, out string value) ? DecodeEncodedWord(value) : null;

    // ext-value = charset "'" [ language ] "'" value-chars (RFC 8187 §3.2.1).
    private static bool TryDecodeExtended(string value, out string decoded)
    {
        decoded = "";
        string[] pieces = value.Split('\'', 3);
        if (pieces.Length != 3)
        {
            return false;
        }
        Encoding? encoding = pieces[0].ToUpperInvariant() switch
        {
            "UTF-8" => new UTF8Encoding(false, throwOnInvalidBytes: true),
            "ISO-8859-1" => Encoding.Latin1,
            _ => null,
        };
        byte[]? bytes = encoding is null ? null : PercentDecode(pieces[2]);
        if (bytes is null)
        {
            return false;
        }
        try
        {
            decoded = encoding!.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static byte[]? PercentDecode(string text)
    {
        var bytes = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                if (text[i] > '~')
                {
                    return null;
                }
                bytes.Add((byte)text[i]);
                continue;
            }
            if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
            {
                return null;
            }
            bytes.Add(b);
            i += 2;
        }
        return [.. bytes];
    }

    // "=?utf-8?B?<base64>?=" (RFC 2047 §4.1) as a whole value; anything else is returned as is.
    private static string DecodeEncodedWord(string value)
    {
        if (!value.StartsWith(EncodedWordPrefix, StringComparison.Ordinal) || !value.EndsWith(EncodedWordSuffix, StringComparison.Ordinal)
            || !value.AsSpan(EncodedWordPrefix.Length).StartsWith(Utf8Base64Marker, StringComparison.OrdinalIgnoreCase))
        {
            return value;
        }
        int start = EncodedWordPrefix.Length + Utf8Base64Marker.Length;
        ReadOnlySpan<char> base64 = value.AsSpan(start, Math.Max(0, value.Length - start - EncodedWordSuffix.Length));
        byte[] buffer = new byte[base64.Length];
        return Convert.TryFromBase64Chars(base64, buffer, out int written) ? Encoding.UTF8.GetString(buffer, 0, written) : value;
    }
}
