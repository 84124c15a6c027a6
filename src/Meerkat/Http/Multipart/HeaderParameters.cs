// How this file works
// -------------------
// Reads "; name=value" parameters that follow a media type or disposition type
// (RFC 9110 §5.6.6, RFC 6266 §4.1). A value is a token or a quoted-string; inside quotes a
// backslash escapes only '"' and '\' — any other backslash is kept, because browsers send
// Windows paths such as "C:\files\a.txt" unescaped (WHATWG HTML, multipart/form-data encoding).
// Semicolons inside quotes do not split. Names compare case-insensitively.
using System.Text;

namespace Meerkat.Http.Multipart;

/// <summary>Parses header field parameters (<c>; name=value</c> or <c>; name="value"</c>).</summary>
internal static class HeaderParameters
{
    private const char Separator = ';';
    private const char EqualsSign = '=';
    private const char Quote = '"';
    private const char Escape = '\\';

    /// <summary>The part of <paramref name="value"/> before the first ';', trimmed (the media or disposition type).</summary>
    public static ReadOnlySpan<char> MainValue(ReadOnlySpan<char> value)
    {
        int semicolon = value.IndexOf(Separator);
        return (semicolon < 0 ? value : value[..semicolon]).Trim();
    }

    /// <summary>Finds parameter <paramref name="name"/> after the main value; returns its unquoted value.</summary>
    public static bool TryGet(ReadOnlySpan<char> value, string name, out string result)
    {
        result = "";
        int position = value.IndexOf(Separator);
        while (position >= 0 && position < value.Length)
        {
            position = SkipWhitespace(value, position + 1);
            int equals = value[position..].IndexOf(EqualsSign);
            if (equals < 0)
            {
                return false;
            }
            ReadOnlySpan<char> parameterName = value.Slice(position, equals).Trim();
            position = SkipWhitespace(value, position + equals + 1);
            string parameterValue = ReadValue(value, ref position);
            if (parameterName.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                result = parameterValue;
                return true;
            }
            int next = value[position..].IndexOf(Separator);
            position = next < 0 ? -1 : position + next;
        }
        return false;
    }

    private static string ReadValue(ReadOnlySpan<char> value, ref int position)
    {
        if (position < value.Length && value[position] == Quote)
        {
            return ReadQuoted(value, ref position);
        }
        int end = value[position..].IndexOf(Separator);
        end = end < 0 ? value.Length : position + end;
        string token = value[position..end].Trim().ToString();
        position = end;
        return token;
    }

    private static string ReadQuoted(ReadOnlySpan<char> value, ref int position)
    {
        var builder = new StringBuilder();
        int i = position + 1;
        for (; i < value.Length && value[i] != Quote; i++)
        {
            bool escapes = value[i] == Escape && i + 1 < value.Length && value[i + 1] is Quote or Escape;
            builder.Append(escapes ? value[++i] : value[i]);
        }
        position = Math.Min(i + 1, value.Length);
        return builder.ToString();
    }

    private static int SkipWhitespace(ReadOnlySpan<char> value, int position)
    {
        while (position < value.Length && value[position] is ' ' or '\t')
        {
            position++;
        }
        return position;
    }
}
