// How this file works
// -------------------
// Chooses a content coding from Accept-Encoding (RFC 9110 §12.5.3) among the precompressed
// variants that exist on disk. Rules:
//   - No header, or an empty one: identity only (we never surprise a client that did not ask).
//   - Each element is "coding [;q=qvalue]" (§12.4.2); q=0 means "not acceptable". "x-gzip" is
//     gzip (§8.4.1.3). "*" gives its q to every coding not listed. An element with an invalid
//     qvalue is skipped.
//   - The highest q wins; ties go to the earlier entry of the server's preference order
//     (br before gzip), and a variant beats identity unless identity is listed with a higher q.
//   - When identity is excluded and no variant is acceptable we still answer with identity:
//     §12.1 allows disregarding the header, and a static file is better than a 415.
namespace Meerkat.Http.StaticFiles;

/// <summary>Selects a content coding from an Accept-Encoding header (RFC 9110 §12.5.3).</summary>
internal static class AcceptEncoding
{
    /// <summary>The Accept-Encoding header field name.</summary>
    public const string Name = "Accept-Encoding";

    /// <summary>The identity coding: no transformation.</summary>
    public const string Identity = "identity";

    private const string Wildcard = "*";
    private const string Gzip = "gzip";
    private const string XGzip = "x-gzip";
    private const string QualityParameter = "q";

    // Identity that is acceptable but not listed ranks below every listed coding with q > 0.
    private const int UnlistedIdentityWeight = 0;
    private const int QualityScale = 1000;

    /// <summary>Picks the best coding of <paramref name="available"/> for the client.</summary>
    /// <param name="acceptEncoding">The Accept-Encoding field value, or null when absent.</param>
    /// <param name="available">Codings the server can send besides identity, most preferred first (e.g. <c>br</c>, <c>gzip</c>).</param>
    /// <returns>The chosen coding, or null for identity.</returns>
    public static string? Select(string? acceptEncoding, ReadOnlySpan<string> available)
    {
        if (string.IsNullOrWhiteSpace(acceptEncoding))
        {
            return null;
        }
        int identityWeight = Weight(acceptEncoding, Identity) ?? UnlistedIdentityWeight;
        string? best = null;
        int bestWeight = 0;
        foreach (string coding in available)
        {
            int weight = Weight(acceptEncoding, coding) ?? 0;
            // Variants win ties against identity; among variants, the earlier one wins ties.
            if (weight > 0 && weight >= identityWeight && weight > bestWeight)
            {
                best = coding;
                bestWeight = weight;
            }
        }
        return best;
    }

    // The weight (q * 1000) the header gives to a coding: its own element, else "*", else null.
    private static int? Weight(string header, string coding)
    {
        int? wildcard = null;
        foreach (Range part in header.AsSpan().Split(','))
        {
            ReadOnlySpan<char> element = header.AsSpan()[part];
            int semicolon = element.IndexOf(';');
            ReadOnlySpan<char> name = (semicolon < 0 ? element : element[..semicolon]).Trim();
            if (name.IsEmpty || !TryParseQuality(semicolon < 0 ? default : element[(semicolon + 1)..], out int weight))
            {
                continue;
            }
            if (IsSameCoding(name, coding))
            {
                return weight;
            }
            if (name.SequenceEqual(Wildcard))
            {
                wildcard = weight;
            }
        }
        return wildcard;
    }

    private static bool IsSameCoding(ReadOnlySpan<char> listed, string coding)
    {
        if (listed.Equals(coding, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        return coding == Gzip && listed.Equals(XGzip, StringComparison.OrdinalIgnoreCase);
    }

    // weight = OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (§12.4.2).
    private static bool TryParseQuality(ReadOnlySpan<char> parameters, out int weight)
    {
        weight = QualityScale;
        ReadOnlySpan<char> p = parameters.Trim();
        if (p.IsEmpty)
        {
            return true;
        }
        int equals = p.IndexOf('=');
        if (equals < 0 || !p[..equals].Trim().Equals(QualityParameter, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return TryParseQValue(p[(equals + 1)..].Trim(), out weight);
    }

    private static bool TryParseQValue(ReadOnlySpan<char> q, out int weight)
    {
        weight = 0;
        const int MaxFractionDigits = 3;
        if (q.IsEmpty || (q[0] != '0' && q[0] != '1'))
        {
            return false;
        }
        int integer = q[0] - '0';
        ReadOnlySpan<char> fraction = q.Length > 1 ? q[1..] : default;
        if (!fraction.IsEmpty && (fraction[0] != '.' || fraction.Length - 1 > MaxFractionDigits))
        {
            return false;
        }
        int thousandths = 0, scale = QualityScale / 10;
        foreach (char c in fraction.IsEmpty ? default : fraction[1..])
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            thousandths += (c - '0') * scale;
            scale /= 10;
        }
        weight = (integer * QualityScale) + thousandths;
        return weight <= QualityScale;
    }
}
