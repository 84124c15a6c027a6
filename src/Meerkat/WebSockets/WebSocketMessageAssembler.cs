namespace Meerkat.WebSockets;

/// <summary>
/// Gathers the pieces of one message into a contiguous buffer (whole-message mode). The buffer
/// grows geometrically and is dropped after a message larger than <see cref="RetainedCapacity"/>,
/// so one huge message does not pin its memory for the life of the connection.
/// </summary>
internal sealed class WebSocketMessageAssembler
{
    /// <summary>Capacity kept between messages: 64 KiB.</summary>
    public const int RetainedCapacity = 64 * 1024;

    private const int InitialCapacity = 256;
    private byte[] _buffer = [];
    private int _length;

    /// <summary>The message gathered so far; valid until the next <see cref="Append"/> or <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> Message => _buffer.AsSpan(0, _length);

    /// <summary>Appends a piece.</summary>
    public void Append(ReadOnlySpan<byte> piece)
    {
        if (_buffer.Length - _length < piece.Length)
        {
            long wanted = Math.Max((long)_buffer.Length * 2, (long)_length + piece.Length);
            var larger = new byte[Math.Max(InitialCapacity, (int)Math.Min(wanted, Array.MaxLength))];
            Message.CopyTo(larger);
            _buffer = larger;
        }

        piece.CopyTo(_buffer.AsSpan(_length));
        _length += piece.Length;
    }

    /// <summary>Empties the buffer for the next message.</summary>
    public void Reset()
    {
        _length = 0;
        if (_buffer.Length > RetainedCapacity)
        {
            _buffer = [];
        }
    }
}
