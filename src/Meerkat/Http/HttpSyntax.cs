// How this file works: the byte-level vocabulary of HTTP/1.1 (RFC 9110 §5.6, RFC 9112 §2):
// named byte constants and the character classes every parser in this folder checks against.
using System.Buffers;

namespace Meerkat.Http;

/// <summary>Byte constants and character classes of the HTTP/1.1 grammar.</summary>
internal static class HttpSyntax
{
    public const byte CR = (byte)'\r';
    public const byte LF = (byte)'\n';
    public const byte SP = (byte)' ';
    public const byte HTAB = (byte)'\t';
    public const byte Colon = (byte)':';
    public const byte Semicolon = (byte)';';
    public const byte Comma = (byte)',';
    public const byte EqualsSign = (byte)'=';
    public const byte DoubleQuote = (byte)'"';
    public const byte Backslash = (byte)'\\';
    public const byte Slash = (byte)'/';
    public const byte Dot = (byte)'.';
    public const byte Asterisk = (byte)'*';
    public const byte QuestionMark = (byte)'?';

    /// <summary>tchar (RFC 9110 §5.6.2).</summary>
    public static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Bytes allowed in a field value: SP, HTAB, VCHAR, obs-text (RFC 9110 §5.5).</summary>
    public static readonly SearchValues<byte> FieldValueChars = SearchValues.Create(FieldValueBytes());

    /// <summary>Bytes allowed in a request-target: VCHAR only (RFC 9112 §3.2, RFC 3986 characters).</summary>
    public static readonly SearchValues<byte> TargetChars = SearchValues.Create(Range(0x21, 0x7E));

    /// <summary>Bytes allowed in a quoted-string's qdtext or after a backslash (RFC 9110 §5.6.4).</summary>
    public static readonly SearchValues<byte> QuotedChars = FieldValueChars;

    public static bool IsToken(ReadOnlySpan<byte> s) => !s.IsEmpty && !s.ContainsAnyExcept(TokenChars);

    public static bool IsWhitespace(byte b) => b == SP || b == HTAB;

    public static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    /// <summary>Removes OWS (SP / HTAB) from both ends (RFC 9110 §5.6.3).</summary>
    public static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsWhitespace(s[start])) start++;
        while (end > start && IsWhitespace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary>Value of a hex digit, or -1.</summary>
    public static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static byte[] FieldValueBytes()
    {
        var bytes = new List<byte> { SP, HTAB };
        bytes.AddRange(Range(0x21, 0xFF));
        bytes.Remove(0x7F); // DEL is not a VCHAR
        return bytes.ToArray();
    }

    private static byte[] Range(int first, int last)
    {
        var bytes = new byte[last - first + 1];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(first + i);
        return bytes;
    }
}
