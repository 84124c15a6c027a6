// How this file works: the chunked framing of BodyWriter over ChunkedEncoder, with the trailer
// section checked against the fields a trailer must not carry.
using System.Buffers;

namespace Meerkat.Http;

/// <summary>The chunked transfer coding (RFC 9112 §7.1): one chunk per piece, then the last chunk,
/// the trailer section (§7.1.2) and the final CRLF.</summary>
internal sealed class ChunkedBodyWriter : BodyWriter
{
    /// <inheritdoc/>
    public override HttpFraming Framing => HttpFraming.Chunked;

    public void Start() => Begin();

    protected override void WriteData(IBufferWriter<byte> output, ReadOnlySpan<byte> data) => ChunkedEncoder.WriteChunk(output, data);

    protected override void WriteEnd(IBufferWriter<byte> output, ReadOnlySpan<(string Name, string Value)> trailers)
    {
        if (trailers.IsEmpty)
        {
            ChunkedEncoder.WriteLastChunk(output);
            return;
        }
        foreach (var (name, _) in trailers)
            if (IsForbiddenTrailer(name)) throw new ArgumentException($"'{name}' cannot be a trailer field: it frames or routes the message (RFC 9110 §6.5.1)", nameof(trailers));
        ChunkedEncoder.WriteLastChunkStart(output);
        foreach (var (name, value) in trailers) HeadWriting.WriteField(output, name, value);
        ChunkedEncoder.WriteEnd(output);
    }

    /// <summary>Fields a sender must not put in trailers (RFC 9110 §6.5.1): framing, routing, the connection.</summary>
    internal static bool IsForbiddenTrailer(string name) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Trailer", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase);
}
