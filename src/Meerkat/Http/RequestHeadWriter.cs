// How this file works: writes a request head (RFC 9112 §3, §5) into an IBufferWriter. Allocation-free.
using System.Buffers;
using static Meerkat.Http.HeadWriting;

namespace Meerkat.Http;

/// <summary>Writes request heads. Call <see cref="WriteRequestLine"/>, then fields, then <see cref="WriteEnd"/>. Stateless.</summary>
internal sealed class RequestHeadWriter
{
    /// <summary>Writes <c>GET /path HTTP/1.1\r\n</c>.</summary>
    /// <exception cref="ArgumentException">The method is not a token or the target is empty or has a byte outside VCHAR.</exception>
    public void WriteRequestLine(IBufferWriter<byte> output, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, bool http11 = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!HttpSyntax.IsToken(method)) throw new ArgumentException("The method must be a token (RFC 9110 §9.1).", nameof(method));
        if (target.IsEmpty || target.ContainsAnyExcept(HttpSyntax.TargetChars))
            throw new ArgumentException("The target must be non-empty visible ASCII; percent-encode the rest (RFC 3986).", nameof(target));
        Write(output, method);
        Write(output, " "u8);
        Write(output, target);
        Write(output, " "u8);
        WriteVersion(output, http11);
        WriteCrlf(output);
    }

    /// <summary>Writes <c>name: value\r\n</c>.</summary>
    /// <exception cref="ArgumentException">The name is not a token or the value contains CR, LF or another control character.</exception>
    public void WriteHeader(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => WriteField(output, name, value);

    /// <summary>Writes <c>name: 123\r\n</c> (e.g. Content-Length).</summary>
    public void WriteHeader(IBufferWriter<byte> output, ReadOnlySpan<byte> name, long value) => WriteField(output, name, value);

    /// <summary>Writes the blank line that ends the head.</summary>
    public void WriteEnd(IBufferWriter<byte> output) => WriteCrlf(output);
}
