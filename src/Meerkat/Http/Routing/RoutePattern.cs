// How this file works
// -------------------
// A route template such as "/api/items/{id}" or "/static/{*rest}" parsed once, when the route is
// mapped, into segments:
//   - a literal segment matches one path segment exactly (case-sensitive, RFC 3986 §6.2.2.1),
//     compared after percent-decoding both sides, so "/caf%C3%A9" and "/café" are one literal;
//   - "{name}" captures one whole, non-empty path segment;
//   - "{*name}" (last only) captures the rest of the path, slashes included, possibly empty.
// A template starts with "/"; "/" alone is the root. Mistakes throw ArgumentException naming
// the template and the segment, at Map time, never per request.
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>What one segment of a <see cref="RoutePattern"/> matches.</summary>
internal enum RouteSegmentKind
{
    /// <summary>Exactly this text.</summary>
    Literal,

    /// <summary>Any one non-empty segment, captured.</summary>
    Parameter,

    /// <summary>The rest of the path, captured (the last segment only).</summary>
    CatchAll,
}

/// <summary>One segment of a template: a literal (its decoded UTF-8 bytes) or a named capture.</summary>
internal readonly record struct RouteSegment(RouteSegmentKind Kind, byte[] Literal, string? Name);

/// <summary>A parsed route template. Immutable.</summary>
internal sealed class RoutePattern
{
    private const char Slash = '/';
    private const char OpenBrace = '{';
    private const char CloseBrace = '}';
    private const char Star = '*';

    private RoutePattern(string template, RouteSegment[] segments, string[] captureNames)
    {
        Template = template;
        Segments = segments;
        CaptureNames = captureNames;
    }

    /// <summary>The template as written, e.g. <c>/api/items/{id}</c>.</summary>
    public string Template { get; }

    /// <summary>The segments, in order; the root "/" is one empty literal.</summary>
    public RouteSegment[] Segments { get; }

    /// <summary>The capture names in path order.</summary>
    public string[] CaptureNames { get; }

    /// <summary>Joins a group prefix and a template: <c>/api</c> + <c>/items</c> is <c>/api/items</c>.</summary>
    public static string Combine(string prefix, string template)
    {
        if (prefix.Length == 0) return template;
        if (template == "/") return prefix;
        return prefix.TrimEnd(Slash) + template;
    }

    /// <summary>Parses a template.</summary>
    /// <exception cref="ArgumentException">The template does not start with "/", has an empty or malformed
    /// capture, a repeated capture name, a catch-all that is not last, or a brace inside a literal.</exception>
    public static RoutePattern Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (template.Length == 0 || template[0] != Slash)
            throw new ArgumentException($"route template '{template}' must start with '/'", nameof(template));
        if (template.AsSpan().IndexOfAny('?', '#') >= 0)
            throw new ArgumentException($"route template '{template}' must be a path: no query or fragment", nameof(template));
        string[] parts = template[1..].Split(Slash);
        var segments = new RouteSegment[parts.Length];
        var names = new List<string>();
        for (int i = 0; i < parts.Length; i++)
        {
            segments[i] = ParseSegment(template, parts[i], isLast: i == parts.Length - 1);
            if (segments[i].Name is { } name)
            {
                if (names.Contains(name)) throw new ArgumentException($"route template '{template}' uses the capture name '{name}' twice", nameof(template));
                names.Add(name);
            }
        }
        return new RoutePattern(template, segments, names.ToArray());
    }

    private static RouteSegment ParseSegment(string template, string part, bool isLast)
    {
        if (part.Length > 0 && part[0] == OpenBrace)
        {
            if (part[^1] != CloseBrace)
                throw new ArgumentException($"route template '{template}': a capture must be a whole segment, like '{{id}}', not '{part}'", nameof(template));
            bool catchAll = part.Length > 1 && part[1] == Star;
            string name = part[(catchAll ? 2 : 1)..^1];
            if (!IsName(name))
                throw new ArgumentException($"route template '{template}': capture '{part}' needs a name of letters, digits and '_'", nameof(template));
            if (catchAll && !isLast)
                throw new ArgumentException($"route template '{template}': the catch-all '{part}' must be the last segment", nameof(template));
            return new RouteSegment(catchAll ? RouteSegmentKind.CatchAll : RouteSegmentKind.Parameter, [], name);
        }
        if (part.AsSpan().IndexOfAny(OpenBrace, CloseBrace) >= 0)
            throw new ArgumentException($"route template '{template}': '{part}' mixes text and a capture; a capture must be a whole segment", nameof(template));
        byte[] raw = Encoding.UTF8.GetBytes(part);
        byte[] decoded = new byte[raw.Length];
        if (!PercentDecoding.TryDecode(raw, decoded, out int length))
            throw new ArgumentException($"route template '{template}': '{part}' has a malformed percent escape", nameof(template));
        return new RouteSegment(RouteSegmentKind.Literal, decoded[..length], null);
    }

    private static bool IsName(string name)
    {
        if (name.Length == 0) return false;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        return true;
    }
}
