// How this file works: splits a Sec-WebSocket-Extensions value (RFC 6455 §9.1) into extensions
// and their parameters: extension *( ";" param [ "=" ( token / quoted-string ) ] ), separated by
// commas. Quoted values are unquoted (RFC 7692 §7.1 allows them). Empty list elements are skipped.
namespace Meerkat.WebSockets;

/// <summary>Parser for Sec-WebSocket-Extensions values; used at handshake time only.</summary>
internal static class ExtensionHeader
{
    private const char ListSeparator = ',';
    private const char ParameterSeparator = ';';
    private const char Quote = '"';

    internal sealed record Extension(string Name, List<(string Name, string? Value)> Parameters);

    public static List<Extension> Parse(string? value)
    {
        var extensions = new List<Extension>();
        if (value is null)
        {
            return extensions;
        }

        foreach (string element in SplitOutsideQuotes(value, ListSeparator))
        {
            List<string> parts = SplitOutsideQuotes(element, ParameterSeparator);
            if (parts.Count == 0 || parts[0].Length == 0)
            {
                continue;
            }

            var parameters = new List<(string, string?)>();
            foreach (string part in parts.Skip(1))
            {
                int equals = part.IndexOf('=', StringComparison.Ordinal);
                parameters.Add(equals < 0
                    ? (part, null)
                    : (part[..equals].Trim(), Unquote(part[(equals + 1)..].Trim())));
            }

            extensions.Add(new Extension(parts[0], parameters));
        }

        return extensions;
    }

    private static List<string> SplitOutsideQuotes(string value, char separator)
    {
        var parts = new List<string>();
        bool isQuoted = false;
        int start = 0;
        for (int i = 0; i <= value.Length; i++)
        {
            if (i < value.Length && value[i] == Quote)
            {
                isQuoted = !isQuoted;
            }
            else if (i == value.Length || (value[i] == separator && !isQuoted))
            {
                string part = value[start..i].Trim();
                if (part.Length > 0)
                {
                    parts.Add(part);
                }

                start = i + 1;
            }
        }

        return parts;
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == Quote && value[^1] == Quote ? value[1..^1] : value;
}
