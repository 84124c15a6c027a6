// How this file works: the until-close framing of BodyWriter: bytes as they are; the close ends it.
using System.Buffers;

namespace Meerkat.Http;

/// <summary>A body delimited by closing the connection (RFC 9112 §6.3 rule 8): bytes as they are;
/// the end is the close, so finishing writes nothing.</summary>
internal sealed class UntilCloseBodyWriter : BodyWriter
{
    /// <inheritdoc/>
    public override HttpFraming Framing => HttpFraming.UntilClose;

    public void Start() => Begin();

    protected override void WriteData(IBufferWriter<byte> output, ReadOnlySpan<byte> data) => HeadWriting.Write(output, data);

    protected override void WriteEnd(IBufferWriter<byte> output, ReadOnlySpan<(string Name, string Value)> trailers) { }
}
