// How this file works: the Content-Length framing of BodyWriter: counts what is owed and refuses
// a byte more or a byte less.
using System.Buffers;

namespace Meerkat.Http;

/// <summary>A body of exactly the announced Content-Length (RFC 9112 §6.3 rule 6): never more, never less.</summary>
internal sealed class ContentLengthBodyWriter : BodyWriter
{
    /// <inheritdoc/>
    public override HttpFraming Framing => HttpFraming.ContentLength;

    /// <summary>Bytes still owed.</summary>
    public long Remaining { get; private set; }

    public void Start(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Remaining = length;
        Begin();
    }

    protected override void WriteData(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (data.Length > Remaining) throw new InvalidOperationException($"the body exceeds its Content-Length by {data.Length - Remaining} bytes");
        Remaining -= data.Length;
        HeadWriting.Write(output, data);
    }

    protected override void WriteEnd(IBufferWriter<byte> output, ReadOnlySpan<(string Name, string Value)> trailers)
    {
        if (Remaining != 0) throw new InvalidOperationException($"the body is {Remaining} bytes short of its Content-Length");
    }
}
