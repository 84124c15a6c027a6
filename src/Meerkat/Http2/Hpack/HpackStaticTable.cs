// How this file works: the 61 predefined entries of RFC 7541 Appendix A, addressed 1–61 (the
// dynamic table follows from 62, §2.3.3). The encoder's lookup groups entries by name length,
// so finding a name costs a few span comparisons, not 61.
using System.Text;

namespace Meerkat.Http2.Hpack;

/// <summary>The HPACK static table (RFC 7541 Appendix A).</summary>
internal static class HpackStaticTable
{
    /// <summary>Number of entries; dynamic table indices start after it.</summary>
    public const int Count = 61;

    private static readonly byte[][] Names = new byte[Count + 1][];
    private static readonly byte[][] Values = new byte[Count + 1][];
    private static readonly int[][] IndicesByNameLength;

    static HpackStaticTable()
    {
        string[] entries =
        [
            ":authority", "", ":method", "GET", ":method", "POST", ":path", "/", ":path", "/index.html",
            ":scheme", "http", ":scheme", "https", ":status", "200", ":status", "204", ":status", "206",
            ":status", "304", ":status", "400", ":status", "404", ":status", "500", "accept-charset", "",
            "accept-encoding", "gzip, deflate", "accept-language", "", "accept-ranges", "", "accept", "",
            "access-control-allow-origin", "", "age", "", "allow", "", "authorization", "", "cache-control", "",
            "content-disposition", "", "content-encoding", "", "content-language", "", "content-length", "",
            "content-location", "", "content-range", "", "content-type", "", "cookie", "", "date", "", "etag", "",
            "expect", "", "expires", "", "from", "", "host", "", "if-match", "", "if-modified-since", "",
            "if-none-match", "", "if-range", "", "if-unmodified-since", "", "last-modified", "", "link", "",
            "location", "", "max-forwards", "", "proxy-authenticate", "", "proxy-authorization", "", "range", "",
            "referer", "", "refresh", "", "retry-after", "", "server", "", "set-cookie", "",
            "strict-transport-security", "", "transfer-encoding", "", "user-agent", "", "vary", "", "via", "",
            "www-authenticate", "",
        ];
        Names[0] = Values[0] = [];
        int longest = 0;
        for (int index = 1; index <= Count; index++)
        {
            Names[index] = Encoding.ASCII.GetBytes(entries[2 * index - 2]);
            Values[index] = Encoding.ASCII.GetBytes(entries[2 * index - 1]);
            longest = Math.Max(longest, Names[index].Length);
        }

        IndicesByNameLength = new int[longest + 1][];
        for (int length = 0; length <= longest; length++)
        {
            IndicesByNameLength[length] = Enumerable.Range(1, Count).Where(i => Names[i].Length == length).ToArray();
        }
    }

    /// <summary>The name of entry <paramref name="index"/> (1–61).</summary>
    public static ReadOnlySpan<byte> Name(int index) => Names[index];

    /// <summary>The value of entry <paramref name="index"/> (1–61); empty for most.</summary>
    public static ReadOnlySpan<byte> Value(int index) => Values[index];

    /// <summary>
    /// The index of an entry equal to (<paramref name="name"/>, <paramref name="value"/>), with
    /// <paramref name="isExactMatch"/> true; else the first entry with that name; else 0.
    /// </summary>
    public static int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out bool isExactMatch)
    {
        isExactMatch = false;
        if (name.Length >= IndicesByNameLength.Length) return 0;
        int nameMatch = 0;
        foreach (int index in IndicesByNameLength[name.Length])
        {
            if (!name.SequenceEqual(Names[index])) continue;
            if (value.SequenceEqual(Values[index]))
            {
                isExactMatch = true;
                return index;
            }

            if (nameMatch == 0) nameMatch = index;
        }

        return nameMatch;
    }
}
