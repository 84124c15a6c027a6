// How this file works: the compression half of RFC 7692 §7.2 on top of System.IO.Compression's
// raw DeflateStream.
//
// - Compressing: a message (or one fragment of it) is written to a DeflateStream over a reused
//   MemoryStream and sync-flushed (DeflateStream.Flush is Z_SYNC_FLUSH), which ends the output
//   with the empty stored block 00 00 FF FF. On the last fragment those 4 octets are removed
//   (§7.2.1); on earlier fragments they stay (they are a valid empty block). An empty result is
//   sent as the single octet 00 (§7.2.3.6).
// - Decompressing: compressed octets are appended to a feed stream that the inflating
//   DeflateStream pulls from; Read returning 0 means "all input consumed, give me more".
//   At the end of a message 00 00 FF FF is appended (§7.2.2).
// - No context takeover (§7.1.1): the DeflateStream is dropped and recreated for the next
//   message (one allocation per message, only when that was negotiated).
// - Windows: .NET compresses with a 15-bit window only, and inflates with 15 bits, which accepts
//   anything a peer produced with a smaller window. Negotiation never agrees to compress with less.
using System.IO.Compression;

namespace Meerkat.WebSockets;

/// <summary>Compresses outgoing messages; owned by one writer.</summary>
internal sealed class PerMessageDeflateCompressor : IDisposable
{
    private static ReadOnlySpan<byte> EmptyCompressedMessage => [0x00];

    private readonly MemoryStream _output = new();
    private readonly CompressionLevel _level;
    private readonly bool _isResetPerMessage;
    private DeflateStream? _deflate;
    private bool _isResetDue;

    public PerMessageDeflateCompressor(CompressionLevel level, bool isResetPerMessage)
    {
        _level = level;
        _isResetPerMessage = isResetPerMessage;
    }

    /// <summary>Compresses one fragment; the result lives until the next call.</summary>
    public ReadOnlySpan<byte> Compress(ReadOnlySpan<byte> payload, bool isEndOfMessage)
    {
        if (_isResetDue)
        {
            _deflate?.Dispose(); // writes a final block into _output, discarded just below
            _deflate = null;
            _isResetDue = false;
        }

        _output.SetLength(0);
        _deflate ??= new DeflateStream(_output, _level, leaveOpen: true);
        _deflate.Write(payload);
        _deflate.Flush();
        ReadOnlySpan<byte> compressed = _output.GetBuffer().AsSpan(0, (int)_output.Length);
        if (!isEndOfMessage)
        {
            return compressed;
        }

        _isResetDue = _isResetPerMessage;
        if (compressed.EndsWith(PerMessageDeflate.FlushMarker))
        {
            compressed = compressed[..^PerMessageDeflate.FlushMarker.Length];
        }

        return compressed.IsEmpty ? EmptyCompressedMessage : compressed;
    }

    public void Dispose()
    {
        _deflate?.Dispose();
        _output.Dispose();
    }
}

/// <summary>Inflates incoming messages; owned by one reader.</summary>
internal sealed class PerMessageDeflateDecompressor : IDisposable
{
    private readonly FeedStream _feed = new();
    private readonly bool _isResetPerMessage;
    private DeflateStream? _inflate;

    public PerMessageDeflateDecompressor(bool isResetPerMessage) => _isResetPerMessage = isResetPerMessage;

    /// <summary>Adds compressed octets; call only after <see cref="Read"/> returned 0.</summary>
    public void Feed(ReadOnlySpan<byte> compressed) => _feed.Append(compressed);

    /// <summary>Adds the 00 00 FF FF that the sender removed (RFC 7692 §7.2.2).</summary>
    public void FeedEndOfMessage() => _feed.Append(PerMessageDeflate.FlushMarker);

    /// <summary>Inflates into <paramref name="destination"/>; 0 means all input is consumed.</summary>
    /// <exception cref="InvalidDataException">The compressed data is corrupt.</exception>
    public int Read(Span<byte> destination)
    {
        _inflate ??= new DeflateStream(_feed, CompressionMode.Decompress, leaveOpen: true);
        return _inflate.Read(destination);
    }

    /// <summary>Called at the end of each message; drops the window when the peer does not keep it.</summary>
    public void EndMessage()
    {
        if (_isResetPerMessage)
        {
            _inflate?.Dispose();
            _inflate = null;
        }
    }

    public void Dispose()
    {
        _inflate?.Dispose();
        _feed.Dispose();
    }

    /// <summary>A read-only stream over the octets fed so far.</summary>
    private sealed class FeedStream : ReadOnlyStream
    {
        private const int InitialCapacity = 4096;
        private byte[] _buffer = new byte[InitialCapacity];
        private int _start;
        private int _end;

        public void Append(ReadOnlySpan<byte> data)
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }

            if (_buffer.Length - _end < data.Length)
            {
                var larger = new byte[Math.Max(_buffer.Length * 2, _end - _start + data.Length)];
                _buffer.AsSpan(_start, _end - _start).CopyTo(larger);
                _end -= _start;
                _start = 0;
                _buffer = larger;
            }

            data.CopyTo(_buffer.AsSpan(_end));
            _end += data.Length;
        }

        public override int Read(Span<byte> buffer)
        {
            int count = Math.Min(buffer.Length, _end - _start);
            _buffer.AsSpan(_start, count).CopyTo(buffer);
            _start += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    }
}
