// How this file works: MeerkatHttpClientOptions.AutomaticDecompression. The response body pipe
// carries the bytes as sent; the caller's side wraps it in the decoder its Content-Encoding names
// (gzip, deflate, br), so decoding runs on the reader's thread, never on the loop. Corrupt data
// surfaces as an HttpClientException naming the coding instead of a bare InvalidDataException.
// "deflate" is the zlib format (RFC 9110 §8.4.1.2); bodies from servers that send raw deflate
// instead are recognised by their first two bytes and decoded too.
using System.IO.Compression;

namespace Meerkat.Http.Client;

internal static class ContentDecoding
{
    /// <summary>The Accept-Encoding the client sends when it decodes responses itself.</summary>
    public const string AcceptEncoding = "gzip, deflate, br";

    /// <summary>The coding to undo for this response, or null (none, several, or one we do not know).</summary>
    public static string? CodingOf(HttpResponse head)
    {
        if (head.Framing == HttpFraming.None) return null;
        var value = head.GetHeader("Content-Encoding")?.Trim();
        return value?.ToLowerInvariant() switch
        {
            "gzip" or "x-gzip" => "gzip",
            "deflate" => "deflate",
            "br" => "br",
            _ => null,
        };
    }

    public static Stream Decode(Stream body, string coding) => new DecodingStream(body, coding);

    private sealed class DecodingStream(Stream body, string coding) : AsyncReadOnlyStream
    {
        private Stream? decoder;

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            try
            {
                decoder ??= await CreateAsync(cancellationToken).ConfigureAwait(false);
                return await decoder.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                throw new HttpClientException($"the response body is not valid {coding} data: {ex.Message}", true, ex);
            }
        }

        private async ValueTask<Stream> CreateAsync(CancellationToken cancellationToken)
        {
            if (coding == "gzip") return new GZipStream(body, CompressionMode.Decompress);
            if (coding == "br") return new BrotliStream(body, CompressionMode.Decompress);
            // deflate: zlib (a CMF byte with method 8, and CMF·256 + FLG a multiple of 31), else raw.
            var start = new byte[2];
            int n = 0;
            while (n < 2)
            {
                int got = await body.ReadAsync(start.AsMemory(n), cancellationToken).ConfigureAwait(false);
                if (got == 0) break;
                n += got;
            }
            var whole = new PrefixedStream(start.AsMemory(0, n), body);
            bool zlib = n == 2 && (start[0] & 0x0F) == 8 && (start[0] << 8 | start[1]) % 31 == 0;
            return zlib ? new ZLibStream(whole, CompressionMode.Decompress) : new DeflateStream(whole, CompressionMode.Decompress);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                decoder?.Dispose();
                body.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Bytes already read, then the rest of the stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : AsyncReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (prefix.IsEmpty) return await rest.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            int n = Math.Min(prefix.Length, destination.Length);
            prefix[..n].CopyTo(destination);
            prefix = prefix[n..];
            return n;
        }
    }
}
