// How this file works: topic names and filters (MQTT 5.0 §4.7). A name has no wildcards; a filter
// may use '+' for one whole level and '#' for the rest, as its last level only. Both are 1 to
// 65,535 UTF-8 bytes without U+0000. A filter starting with a wildcard does not match a name
// starting with '$' (§4.7.2). Shared subscriptions are "$share/{ShareName}/{filter}" (§4.8.2).
using System.Text;

namespace Meerkat.Mqtt;

/// <summary>Topic name and filter rules: validation, matching, shared subscription syntax.</summary>
public static class MqttTopic
{
    /// <summary>The longest topic, in UTF-8 bytes.</summary>
    public const int MaxLength = 65_535;

    private const string SharePrefix = "$share/";

    /// <summary>True when <paramref name="name"/> may be published to: non-empty, no wildcards, no U+0000, at most 65,535 bytes.</summary>
    public static bool IsValidName(ReadOnlySpan<char> name) =>
        name.Length > 0 && name.IndexOfAny('+', '#', '\0') < 0 && Encoding.UTF8.GetByteCount(name) <= MaxLength;

    /// <summary>True when <paramref name="filter"/> may be subscribed to (shared subscriptions included).</summary>
    public static bool IsValidFilter(ReadOnlySpan<char> filter)
    {
        if (filter.Length == 0 || filter.Contains('\0') || Encoding.UTF8.GetByteCount(filter) > MaxLength) return false;
        if (TrySplitShared(filter, out var group, out var inner)) return IsValidShareName(group) && IsValidPlainFilter(inner);
        return IsValidPlainFilter(filter);
    }

    private static bool IsValidPlainFilter(ReadOnlySpan<char> filter)
    {
        if (filter.Length == 0) return false;
        int levelStart = 0;
        for (int i = 0; i <= filter.Length; i++)
        {
            if (i < filter.Length && filter[i] != '/') continue;
            var level = filter[levelStart..i];
            if (level.Length > 1 && level.IndexOfAny('+', '#') >= 0) return false;
            if (level is "#" && i != filter.Length) return false;
            levelStart = i + 1;
        }
        return true;
    }

    /// <summary>Splits <c>$share/{group}/{filter}</c>. False for a filter that is not shared; a shared
    /// one with an empty or invalid group or an empty filter is not valid (see <see cref="IsValidFilter"/>).</summary>
    public static bool TrySplitShared(ReadOnlySpan<char> filter, out ReadOnlySpan<char> group, out ReadOnlySpan<char> innerFilter)
    {
        group = innerFilter = default;
        if (!filter.StartsWith(SharePrefix, StringComparison.Ordinal)) return false;
        var rest = filter[SharePrefix.Length..];
        int slash = rest.IndexOf('/');
        if (slash < 0)
        {
            group = rest;
            return true;
        }
        group = rest[..slash];
        innerFilter = rest[(slash + 1)..];
        return true;
    }

    /// <summary>True when a shared filter's group name is valid: non-empty, without '/', '+' or '#'.</summary>
    internal static bool IsValidShareName(ReadOnlySpan<char> group) => group.Length > 0 && group.IndexOfAny('+', '#') < 0;

    /// <summary>True when the topic name matches the (non-shared) filter.</summary>
    public static bool Matches(ReadOnlySpan<char> filter, ReadOnlySpan<char> name)
    {
        if (name.Length > 0 && name[0] == '$' && filter.Length > 0 && filter[0] is '+' or '#') return false;
        while (true)
        {
            int f = filter.IndexOf('/');
            var filterLevel = f < 0 ? filter : filter[..f];
            if (filterLevel is "#") return true;
            int n = name.IndexOf('/');
            var nameLevel = n < 0 ? name : name[..n];
            if (filterLevel is not "+" && !filterLevel.SequenceEqual(nameLevel)) return false;
            if (f < 0 || n < 0)
            {
                // "a/#" also matches "a" (the parent level, §4.7.1.2).
                return f < 0 && n < 0 || n < 0 && filter[(f + 1)..] is "#";
            }
            filter = filter[(f + 1)..];
            name = name[(n + 1)..];
        }
    }

    /// <summary>True when the filter contains '+' or '#'.</summary>
    public static bool HasWildcards(ReadOnlySpan<char> filter) => filter.IndexOfAny('+', '#') >= 0;
}
