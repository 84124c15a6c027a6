// How this file works: messages in, bytes out (RFC 6455 §5.2, §5.5, RFC 7692 §6.1).
//
// - A frame is a 2-14 octet header, then the payload, masked when we are the client (§5.3).
//   Lengths use the minimal encoding: 7 bits, then 16 bits (126), then 64 bits (127).
// - Masking keys come from RandomNumberGenerator (unpredictable, §10.3), filled into a cached
//   block so that one system call serves many frames.
// - Whole messages are one frame. Fragmented messages are written piece by piece with
//   WriteFragment: the first piece carries the opcode (and RSV1 when compressed), the others are
//   continuations; control frames may be written between pieces.
// - With permessage-deflate each message (or fragment) goes through the compressor; RSV1 is set
//   on the first frame of a compressed message only (RFC 7692 §6.1). Control frames are never
//   compressed. Empty messages are sent uncompressed (RSV1 clear), which §6.1 allows.
// - Caller mistakes (control payload over 125 octets, a close code that may not be sent, a close
//   reason too long, invalid UTF-8 in a text message, interleaving messages) throw at once.
using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Meerkat.WebSockets;

/// <summary>
/// Encodes WebSocket frames for the endpoint playing one role. Allocation-free for uncompressed
/// frames (text is encoded through a pooled buffer). Single-threaded.
/// </summary>
internal sealed class WebSocketFrameWriter : IDisposable
{
    /// <summary>Largest control frame payload (RFC 6455 §5.5).</summary>
    public const int MaxControlPayloadLength = 125;

    /// <summary>Largest close reason, in UTF-8 octets: 125 minus the 2-octet code (RFC 6455 §5.5.1).</summary>
    public const int MaxCloseReasonLength = MaxControlPayloadLength - CloseCodeLength;

    /// <summary>Largest frame header: 2 octets, 8 of extended length, 4 of masking key.</summary>
    public const int MaxHeaderLength = 14;

    private const int CloseCodeLength = 2;
    private const int MaskKeyLength = 4;
    private const int MaxLength7 = 125;
    private const int Length16Marker = 126;
    private const int Length64Marker = 127;
    private const byte FinBit = 0x80;
    private const byte Rsv1Bit = 0x40;
    private const byte MaskBit = 0x80;
    private const int KeyBlockLength = 256;
    private const int MaxPayloadPiece = 64 * 1024; // size hint per output.GetSpan for big payloads

    private readonly WebSocketRole _role;
    private readonly PerMessageDeflateCompressor? _compressor;
    private readonly byte[] _keyBlock;
    private int _keyOffset;
    private WebSocketMessageKind? _fragmentedKind; // non-null between the first and last fragment
    private bool _isFragmentedMessageCompressed;

    /// <summary>Creates a writer for the endpoint playing <paramref name="role"/>.</summary>
    /// <param name="role">A client masks every frame; a server never does.</param>
    /// <param name="deflate">The negotiated permessage-deflate agreement, or null to send uncompressed.</param>
    public WebSocketFrameWriter(WebSocketRole role, PerMessageDeflateParameters? deflate = null)
    {
        _role = role;
        _keyBlock = role == WebSocketRole.Client ? new byte[KeyBlockLength] : [];
        _keyOffset = _keyBlock.Length;
        _compressor = deflate is null ? null : new PerMessageDeflateCompressor(deflate.CompressionLevel, deflate.IsCompressorResetPerMessage(role));
    }

    /// <summary>True between the first and the last <see cref="WriteFragment"/> of a message.</summary>
    public bool IsFragmentedMessageOpen => _fragmentedKind is not null;

    /// <summary>Frame length (header plus payload) for a payload of <paramref name="payloadLength"/> octets.</summary>
    public static int GetFrameLength(int payloadLength, WebSocketRole role) =>
        HeaderLength(payloadLength, role == WebSocketRole.Client) + payloadLength;

    /// <summary>
    /// Writes one frame into <paramref name="destination"/> with the given masking key (tests and
    /// callers with their own key source). No compression, no checks of message sequencing.
    /// </summary>
    /// <returns>Octets written: <see cref="GetFrameLength"/>.</returns>
    /// <exception cref="ArgumentException">The destination is too small.</exception>
    public static int WriteFrame(Span<byte> destination, WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool isFinal = true, bool isRsv1 = false, ReadOnlySpan<byte> maskKey = default)
    {
        bool isMasked = !maskKey.IsEmpty;
        int headerLength = HeaderLength(payload.Length, isMasked);
        if (destination.Length < headerLength + payload.Length)
        {
            throw new ArgumentException("The destination is too small for the frame.", nameof(destination));
        }

        WriteHeader(destination, opcode, isFinal, isRsv1, payload.Length, maskKey);
        Span<byte> body = destination.Slice(headerLength, payload.Length);
        if (isMasked)
        {
            WebSocketMask.Apply(payload, body, WebSocketMask.ReadKey(maskKey), 0);
        }
        else
        {
            payload.CopyTo(body);
        }

        return headerLength + payload.Length;
    }

    /// <summary>Writes a whole message as one frame (compressed when negotiated).</summary>
    /// <exception cref="ArgumentException">A text payload is not valid UTF-8.</exception>
    /// <exception cref="InvalidOperationException">A fragmented message is open.</exception>
    public void WriteMessage(WebSocketMessageKind kind, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        ThrowIfFragmentOpen();
        if (kind == WebSocketMessageKind.Text && !Utf8.IsValid(payload))
        {
            throw new ArgumentException("A text message must be valid UTF-8.", nameof(payload));
        }

        WriteDataFrame((WebSocketOpcode)kind, payload, isFinal: true, isCompressed: _compressor is not null && !payload.IsEmpty, output);
    }

    /// <summary>Writes a whole text message, encoded as UTF-8 through a pooled buffer.</summary>
    /// <exception cref="ArgumentException">The text contains a lone surrogate.</exception>
    public void WriteText(ReadOnlySpan<char> text, IBufferWriter<byte> output)
    {
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        byte[] rented = ArrayPool<byte>.Shared.Rent(encoding.GetMaxByteCount(text.Length));
        try
        {
            int length = encoding.GetBytes(text, rented);
            WriteMessage(WebSocketMessageKind.Text, rented.AsSpan(0, length), output);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The text contains a lone surrogate, which UTF-8 cannot encode.", nameof(text), e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Writes one piece of a fragmented message (RFC 6455 §5.4): the first piece opens the message
    /// with <paramref name="kind"/>, later pieces are continuations (their kind must match), the
    /// piece with <paramref name="isEndOfMessage"/> closes it. Text pieces may split code points.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="kind"/> differs from the open message's.</exception>
    public void WriteFragment(WebSocketMessageKind kind, ReadOnlySpan<byte> payload, bool isEndOfMessage, IBufferWriter<byte> output)
    {
        bool isFirst = _fragmentedKind is null;
        if (!isFirst && _fragmentedKind != kind)
        {
            throw new ArgumentException($"The open fragmented message is {_fragmentedKind}, not {kind}.", nameof(kind));
        }

        if (isFirst)
        {
            _isFragmentedMessageCompressed = _compressor is not null;
        }

        _fragmentedKind = isEndOfMessage ? null : kind;
        var opcode = isFirst ? (WebSocketOpcode)kind : WebSocketOpcode.Continuation;
        WriteDataFrame(opcode, payload, isEndOfMessage, _isFragmentedMessageCompressed, output);
    }

    /// <summary>Writes a Ping frame.</summary>
    /// <exception cref="ArgumentException">The payload is over 125 octets.</exception>
    public void WritePing(ReadOnlySpan<byte> payload, IBufferWriter<byte> output) => WriteControl(WebSocketOpcode.Ping, payload, output);

    /// <summary>Writes a Pong frame (normally echoing a Ping's payload, RFC 6455 §5.5.3).</summary>
    /// <exception cref="ArgumentException">The payload is over 125 octets.</exception>
    public void WritePong(ReadOnlySpan<byte> payload, IBufferWriter<byte> output) => WriteControl(WebSocketOpcode.Pong, payload, output);

    /// <summary>
    /// Writes a Close frame. <see cref="WebSocketCloseCode.NoStatusReceived"/> writes an empty
    /// Close frame (no code, no reason).
    /// </summary>
    /// <exception cref="ArgumentException">The code may not be sent, or the reason is over 123 UTF-8 octets or given without a code.</exception>
    public void WriteClose(WebSocketCloseCode code, ReadOnlySpan<char> reason, IBufferWriter<byte> output)
    {
        if (code == WebSocketCloseCode.NoStatusReceived)
        {
            if (!reason.IsEmpty)
            {
                throw new ArgumentException("A close reason needs a close code (RFC 6455 §5.5.1).", nameof(reason));
            }

            WriteControl(WebSocketOpcode.Close, default, output);
            return;
        }

        if (!WebSocketCloseCodes.IsValidOnWire((int)code))
        {
            throw new ArgumentException($"Close code {(int)code} may not be sent (RFC 6455 §7.4).", nameof(code));
        }

        Span<byte> payload = stackalloc byte[MaxControlPayloadLength];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        if (Encoding.UTF8.GetByteCount(reason) > MaxCloseReasonLength)
        {
            throw new ArgumentException($"A close reason may be at most {MaxCloseReasonLength} UTF-8 bytes (RFC 6455 §5.5).", nameof(reason));
        }

        int reasonLength = Encoding.UTF8.GetBytes(reason, payload[CloseCodeLength..]);
        WriteControl(WebSocketOpcode.Close, payload[..(CloseCodeLength + reasonLength)], output);
    }

    /// <summary>Releases the compressor, if any.</summary>
    public void Dispose() => _compressor?.Dispose();

    private void WriteControl(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        if (payload.Length > MaxControlPayloadLength)
        {
            throw new ArgumentException($"A control frame payload may be at most {MaxControlPayloadLength} bytes (RFC 6455 §5.5).", nameof(payload));
        }

        WriteFrame(opcode, payload, isFinal: true, isRsv1: false, output);
    }

    private void WriteDataFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool isFinal, bool isCompressed, IBufferWriter<byte> output)
    {
        if (isCompressed)
        {
            payload = _compressor!.Compress(payload, isFinal);
        }

        WriteFrame(opcode, payload, isFinal, isRsv1: isCompressed && opcode != WebSocketOpcode.Continuation, output);
    }

    /// <summary>Writes the header, then the payload in pieces as large as the output offers.</summary>
    private void WriteFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool isFinal, bool isRsv1, IBufferWriter<byte> output)
    {
        bool isMasked = _role == WebSocketRole.Client;
        ReadOnlySpan<byte> key = isMasked ? NextMaskKey() : default;
        int headerLength = HeaderLength(payload.Length, isMasked);
        WriteHeader(output.GetSpan(headerLength), opcode, isFinal, isRsv1, payload.Length, key);
        output.Advance(headerLength);
        uint maskKey = isMasked ? WebSocketMask.ReadKey(key) : 0;
        for (int offset = 0; offset < payload.Length;)
        {
            Span<byte> target = output.GetSpan(Math.Min(payload.Length - offset, MaxPayloadPiece));
            int length = Math.Min(target.Length, payload.Length - offset);
            ReadOnlySpan<byte> piece = payload.Slice(offset, length);
            if (isMasked)
            {
                WebSocketMask.Apply(piece, target, maskKey, offset);
            }
            else
            {
                piece.CopyTo(target);
            }

            output.Advance(length);
            offset += length;
        }
    }

    private static int HeaderLength(int payloadLength, bool isMasked) =>
        2 + (payloadLength <= MaxLength7 ? 0 : payloadLength <= ushort.MaxValue ? sizeof(ushort) : sizeof(ulong))
        + (isMasked ? MaskKeyLength : 0);

    private static void WriteHeader(Span<byte> header, WebSocketOpcode opcode, bool isFinal, bool isRsv1, int payloadLength, ReadOnlySpan<byte> maskKey)
    {
        header[0] = (byte)((isFinal ? FinBit : 0) | (isRsv1 ? Rsv1Bit : 0) | (byte)opcode);
        byte maskBit = maskKey.IsEmpty ? (byte)0 : MaskBit;
        int offset = 2;
        if (payloadLength <= MaxLength7)
        {
            header[1] = (byte)(maskBit | payloadLength);
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            header[1] = (byte)(maskBit | Length16Marker);
            BinaryPrimitives.WriteUInt16BigEndian(header[offset..], (ushort)payloadLength);
            offset += sizeof(ushort);
        }
        else
        {
            header[1] = (byte)(maskBit | Length64Marker);
            BinaryPrimitives.WriteUInt64BigEndian(header[offset..], (ulong)payloadLength);
            offset += sizeof(ulong);
        }

        maskKey.CopyTo(header[offset..]);
    }

    private ReadOnlySpan<byte> NextMaskKey()
    {
        if (_keyOffset == _keyBlock.Length)
        {
            RandomNumberGenerator.Fill(_keyBlock);
            _keyOffset = 0;
        }

        _keyOffset += MaskKeyLength;
        return _keyBlock.AsSpan(_keyOffset - MaskKeyLength, MaskKeyLength);
    }

    private void ThrowIfFragmentOpen()
    {
        if (_fragmentedKind is not null)
        {
            throw new InvalidOperationException("A fragmented message is open; finish it with WriteFragment(isEndOfMessage: true) first.");
        }
    }
}
