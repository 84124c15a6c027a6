namespace Meerkat.Cli.CommandLine;

/// <summary>Suggests the command or option the user probably meant: the closest known name by edit
/// distance (at most a third of its length, at least one edit), or the one name it is a prefix of.</summary>
internal static class Typos
{
    public static string? Closest(string typed, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        var prefixed = new List<string>();
        foreach (var name in known)
        {
            if (name.StartsWith(typed, StringComparison.Ordinal)) prefixed.Add(name);
            int distance = Distance(typed, name);
            if (distance < bestDistance) (best, bestDistance) = (name, distance);
        }
        if (best is not null && bestDistance <= Math.Max(1, best.Length / 3)) return best;
        return prefixed.Count == 1 ? prefixed[0] : null;
    }

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
