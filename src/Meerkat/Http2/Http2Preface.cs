namespace Meerkat.Http2;

/// <summary>How far some received bytes match the client connection preface.</summary>
internal enum Http2PrefaceMatch
{
    /// <summary>The bytes are a proper prefix of the preface: wait for more.</summary>
    Partial,

    /// <summary>The bytes start with the whole preface.</summary>
    Complete,

    /// <summary>The bytes are not the preface (an HTTP/1.1 request, say).</summary>
    Mismatch,
}

/// <summary>The client connection preface of RFC 9113 §3.4, and its detection for h2c with prior knowledge.</summary>
internal static class Http2Preface
{
    /// <summary>"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": the 24 octets a client sends first.</summary>
    public static ReadOnlySpan<byte> Bytes => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Compares the start of a connection's input with the preface, so that a server can tell
    /// HTTP/2 with prior knowledge from HTTP/1.1 on the same port ("PRI" is not a method any
    /// HTTP/1.1 client sends with "*" and version HTTP/2.0).
    /// </summary>
    public static Http2PrefaceMatch Match(ReadOnlySpan<byte> input)
    {
        ReadOnlySpan<byte> preface = Bytes;
        int length = Math.Min(input.Length, preface.Length);
        if (!input[..length].SequenceEqual(preface[..length])) return Http2PrefaceMatch.Mismatch;
        return length == preface.Length ? Http2PrefaceMatch.Complete : Http2PrefaceMatch.Partial;
    }
}
