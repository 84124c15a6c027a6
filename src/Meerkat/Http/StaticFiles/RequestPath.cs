// How this file works
// -------------------
// Turns a raw origin-form request target (RFC 9112 §3.2.1, still percent-encoded) into a
// list of decoded path segments, strictly, before the file system ever sees it:
//   - the query ("?...") is kept aside, a fragment ("#...") is dropped;
//   - the path must start with "/"; raw bytes outside visible ASCII, raw "\" -> bad request;
//   - "%XX" must be two hex digits (RFC 3986 §2.1); a decoded NUL, control character, "/"
//     or "\" -> bad request (an encoded slash would let a segment smuggle a separator);
//   - each segment must decode to valid UTF-8 -> otherwise bad request;
//   - dot segments are removed after decoding (so "%2e%2e" is ".."), per RFC 3986 §5.2.4,
//     except that a ".." climbing above the root is a bad request, never clamped;
//   - empty segments ("//") are dropped, like nginx's merge_slashes.
// The result remembers whether the path named a directory (trailing "/", "." or "..") and
// can print itself back in a canonical, percent-encoded form that always starts with a
// single "/" (so a redirect built from it can never become "//host", an open redirect).
using System.Text;

namespace Meerkat.Http.StaticFiles;

/// <summary>A request path decoded and normalised into segments. Create with <see cref="TryParse(string, out RequestPath?)"/>.</summary>
public sealed class RequestPath
{
    private const byte Slash = (byte)'/';
    private const byte Backslash = (byte)'\\';
    private const byte Percent = (byte)'%';
    private const byte QuestionMark = (byte)'?';
    private const byte Hash = (byte)'#';
    private const byte FirstVisible = 0x21;
    private const byte LastVisible = 0x7E;
    private const byte Delete = 0x7F;
    private const byte Space = 0x20;
    private const int EscapeLength = 3;
    private const string CurrentSegment = ".";
    private const string ParentSegment = "..";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private RequestPath(string[] segments, bool isDirectoryReference, string? query)
    {
        Segments = segments;
        IsDirectoryReference = isDirectoryReference;
        Query = query;
    }

    /// <summary>The decoded segments, without empty or dot segments. Empty for the root.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>True when the path ended with "/" (or a dot segment), i.e. it names a directory.</summary>
    public bool IsDirectoryReference { get; }

    /// <summary>The query without its "?", or null when there was none.</summary>
    public string? Query { get; }

    /// <summary>Parses a raw request target given as a string. Characters outside ASCII are a bad request.</summary>
    /// <param name="rawTarget">The request target exactly as received, e.g. <c>/a%20b/c.txt?x=1</c>.</param>
    /// <param name="path">The parsed path when the method returns true.</param>
    /// <returns>False when the target is malformed: answer 400.</returns>
    public static bool TryParse(string rawTarget, out RequestPath? path)
    {
        ArgumentNullException.ThrowIfNull(rawTarget);
        path = null;
        foreach (char c in rawTarget)
        {
            if (c > LastVisible)
            {
                return false;
            }
        }
        return TryParse(Encoding.ASCII.GetBytes(rawTarget), out path);
    }

    /// <summary>Parses a raw request target given as the bytes received.</summary>
    /// <param name="rawTarget">The request target bytes, e.g. <c>/a%20b/c.txt?x=1</c>.</param>
    /// <param name="path">The parsed path when the method returns true.</param>
    /// <returns>False when the target is malformed: answer 400.</returns>
    public static bool TryParse(ReadOnlySpan<byte> rawTarget, out RequestPath? path)
    {
        path = null;
        int fragment = rawTarget.IndexOf(Hash);
        ReadOnlySpan<byte> target = fragment < 0 ? rawTarget : rawTarget[..fragment];
        int question = target.IndexOf(QuestionMark);
        ReadOnlySpan<byte> rawPath = question < 0 ? target : target[..question];
        if (rawPath.IsEmpty || rawPath[0] != Slash || !IsVisibleAscii(target))
        {
            return false;
        }
        var segments = new List<string>();
        bool isDirectory = false;
        byte[] scratch = new byte[rawPath.Length];
        foreach (Range range in rawPath[1..].Split(Slash))
        {
            if (!TryDecodeSegment(rawPath[1..][range], scratch, out string? segment)
                || !TryApplySegment(segments, segment, out isDirectory))
            {
                return false;
            }
        }
        string? query = question < 0 ? null : Encoding.ASCII.GetString(target[(question + 1)..]);
        path = new RequestPath([.. segments], isDirectory, query);
        return true;
    }

    /// <summary>The canonical percent-encoded path, starting with exactly one "/".</summary>
    /// <param name="withTrailingSlash">Append "/" (for a directory), unless the path is the root.</param>
    /// <returns>For example <c>/a%20b/c/</c>.</returns>
    public string ToEncodedPath(bool withTrailingSlash)
    {
        var builder = new StringBuilder();
        foreach (string segment in Segments)
        {
            builder.Append('/').Append(Uri.EscapeDataString(segment));
        }
        if (withTrailingSlash || Segments.Count == 0)
        {
            builder.Append('/');
        }
        return builder.ToString();
    }

    // Removes dot segments (RFC 3986 §5.2.4) as we go; false when ".." would leave the root.
    private static bool TryApplySegment(List<string> segments, string segment, out bool isDirectory)
    {
        isDirectory = true;
        switch (segment)
        {
            case "" or CurrentSegment:
                return true;
            case ParentSegment when segments.Count == 0:
                return false;
            case ParentSegment:
                segments.RemoveAt(segments.Count - 1);
                return true;
            default:
                segments.Add(segment);
                isDirectory = false;
                return true;
        }
    }

    private static bool TryDecodeSegment(ReadOnlySpan<byte> raw, byte[] scratch, out string segment)
    {
        segment = "";
        int length = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == Percent)
            {
                if (i + EscapeLength > raw.Length || !TryHex(raw[i + 1], raw[i + 2], out b) || IsForbiddenDecoded(b))
                {
                    return false;
                }
                i += EscapeLength - 1;
            }
            else if (b == Backslash)
            {
                return false;
            }
            scratch[length++] = b;
        }
        try
        {
            segment = StrictUtf8.GetString(scratch, 0, length);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static bool IsForbiddenDecoded(byte b) => b < Space || b == Delete || b == Slash || b == Backslash;

    private static bool IsVisibleAscii(ReadOnlySpan<byte> bytes) =>
        !bytes.ContainsAnyExceptInRange(FirstVisible, LastVisible);

    private static bool TryHex(byte high, byte low, out byte value)
    {
        int h = HexValue(high), l = HexValue(low);
        value = (byte)((h << 4) | l);
        return h >= 0 && l >= 0;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
