// How this file works: the input generators shared by every target: a seed as it is, a seed with
// random edits (flips, HTTP tokens inserted, ranges deleted or repeated), two seeds spliced (a
// pipeline, or the head of one with the tail of another), and bytes drawn from HTTP's alphabet.
namespace Meerkat.Fuzz;

public static class FuzzInputs
{
    private static readonly byte[][] Tokens =
    [
        .. new[]
        {
            "\r\n", "\r\n\r\n", "\r", "\n", " ", "\t", ":", ";", ",", "0", "1", "9", "f", "ffffffffffffffffff", "-1",
            "Content-Length: ", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Connection: close",
            "Connection: keep-alive", "Connection: upgrade", "Upgrade: websocket", "Expect: 100-continue", "Host: x",
            "Host: ", "HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "GET ", "HEAD ", "POST ", "CONNECT ", "OPTIONS * ",
            "0\r\n\r\n", "5\r\nhello\r\n", "Trailer: x", "\x00", "\x7f", "\xff", "%", "[::1]", "a:b@c",
        }.Select(t => System.Text.Encoding.Latin1.GetBytes(t)),
    ];

    public static byte[] Next(Random random, IReadOnlyList<byte[]> seeds) => random.Next(10) switch
    {
        0 => Pick(random, seeds),
        < 6 => Mutate(random, Pick(random, seeds)),
        < 9 => Splice(random, Pick(random, seeds), Pick(random, seeds)),
        _ => RandomBytes(random),
    };

    public static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        int edits = 1 + random.Next(4);
        for (int i = 0; i < edits; i++)
        {
            int at = random.Next(bytes.Count + 1);
            switch (random.Next(5))
            {
                case 0 when bytes.Count > 0:
                    bytes[Math.Min(at, bytes.Count - 1)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.InsertRange(at, Tokens[random.Next(Tokens.Length)]);
                    break;
                case 2 when at < bytes.Count:
                    bytes.RemoveRange(at, Math.Min(1 + random.Next(8), bytes.Count - at));
                    break;
                case 3 when at < bytes.Count:
                    int length = Math.Min(1 + random.Next(16), bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default:
                    bytes.InsertRange(at, Tokens[random.Next(Tokens.Length)]);
                    break;
            }
        }
        return [.. bytes];
    }

    public static byte[] Splice(Random random, byte[] first, byte[] second) =>
        random.Next(2) == 0 ? [.. first, .. second] : [.. first.AsSpan(0, random.Next(first.Length + 1)), .. second.AsSpan(random.Next(second.Length + 1))];

    public static byte[] RandomBytes(Random random)
    {
        var bytes = new List<byte>();
        int pieces = random.Next(1, 12);
        for (int i = 0; i < pieces; i++)
        {
            if (random.Next(3) == 0) bytes.Add((byte)random.Next(256));
            else bytes.AddRange(Tokens[random.Next(Tokens.Length)]);
        }
        return [.. bytes];
    }

    private static byte[] Pick(Random random, IReadOnlyList<byte[]> seeds) => seeds[random.Next(seeds.Count)];
}
