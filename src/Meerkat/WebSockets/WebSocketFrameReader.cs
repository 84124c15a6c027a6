// How this file works: bytes in, events out (RFC 6455 §5, RFC 7692 §6). The caller gives the
// bytes it has; Read consumes some and returns one event, or NeedMoreData once all are consumed.
//
// State machine (one switch in Read; each state names its legal next states):
//   FrameHeader       accumulating the 2-14 header octets     -> DataPayload, ControlPayload, Failed
//   DataPayload       data-frame payload, piece by piece      -> FrameHeader (after MessageEnd or a
//                                                               non-final frame), DrainingInflater,
//                                                               DrainingTail, Failed
//   DrainingInflater  compressed octets fed; pulling output   -> DataPayload, Failed
//   DrainingTail      00 00 FF FF fed at message end          -> FrameHeader (after MessageEnd), Failed
//   ControlPayload    collecting a ≤125-octet control payload -> FrameHeader, Closed, Failed
//   Closed            a Close frame was read; later input is discarded (RFC 6455 §5.5.1)
//   Failed            a violation was reported; it is reported again on every call
//
// Message state (kind, compressed or not, size so far, UTF-8 progress) lives beside the frame
// state, so that control frames may arrive between the fragments of a message (§5.4).
// Payload of unmasked uncompressed frames is returned as a slice of the input (no copy); masked
// payload is unmasked into a chunk buffer; compressed payload is inflated into it. Header rules
// are checked as soon as the first two octets are in, so bad input fails as early as possible.
using System.Buffers.Binary;
using System.Text.Unicode;

namespace Meerkat.WebSockets;

/// <summary>
/// Decodes a WebSocket byte stream into <see cref="WebSocketEvent"/>s (streaming: data arrives as
/// <see cref="WebSocketEventKind.MessageData"/> pieces, then <see cref="WebSocketEventKind.MessageEnd"/>).
/// Sans-I/O, single-threaded, allocation-free after construction.
/// </summary>
internal sealed class WebSocketFrameReader : IDisposable
{
    private const int BaseHeaderLength = 2;
    private const int MaskKeyLength = 4;
    private const int MaxHeaderLength = 14;
    private const byte FinBit = 0x80;
    private const byte Rsv1Bit = 0x40;
    private const byte Rsv2And3Bits = 0x30;
    private const byte OpcodeBits = 0x0F;
    private const byte ControlOpcodeBit = 0x08;
    private const byte MaskBit = 0x80;
    private const byte LengthBits = 0x7F;
    private const byte Length16Marker = 126;
    private const byte Length64Marker = 127;
    private const int CloseCodeLength = 2;

    private enum ReaderState
    {
        FrameHeader,
        DataPayload,
        DrainingInflater,
        DrainingTail,
        ControlPayload,
        Closed,
        Failed,
    }

    private readonly WebSocketRole _role;
    private readonly long _maxMessageSize;
    private readonly PerMessageDeflateDecompressor? _decompressor;
    private readonly byte[] _header = new byte[MaxHeaderLength];
    private readonly byte[] _control = new byte[WebSocketFrameWriter.MaxControlPayloadLength];
    private readonly byte[] _chunk;
    private readonly byte[] _compressedChunk;
    private ReaderState _state;
    private int _headerLength;

    // The current frame.
    private WebSocketOpcode _opcode;
    private bool _isFinal;
    private bool _isMasked;
    private uint _maskKey;
    private long _frameLength;
    private long _frameOffset;

    // The current data message; null kind = no message in progress.
    private WebSocketMessageKind? _messageKind;
    private bool _isMessageCompressed;
    private long _messageLength;
    private Utf8Validator _utf8;

    private WebSocketCloseCode _failureCode;
    private string _failureReason = string.Empty;

    /// <summary>Creates a reader for the endpoint playing <paramref name="role"/>.</summary>
    /// <param name="role">Our role: a server requires masked frames, a client forbids them.</param>
    /// <param name="options">Limits; null for the defaults.</param>
    /// <param name="deflate">The negotiated permessage-deflate agreement, or null when not negotiated (RSV1 is then a violation).</param>
    public WebSocketFrameReader(WebSocketRole role, WebSocketOptions? options = null, PerMessageDeflateParameters? deflate = null)
    {
        options ??= new WebSocketOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxMessageSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReadChunkSize, 1);
        _role = role;
        _maxMessageSize = options.MaxMessageSize;
        _chunk = new byte[options.ReadChunkSize];
        _compressedChunk = deflate is null ? [] : new byte[options.ReadChunkSize];
        _decompressor = deflate is null ? null : new PerMessageDeflateDecompressor(deflate.IsDecompressorResetPerMessage(role));
    }

    /// <summary>True once a Close frame has been read; later input is discarded.</summary>
    public bool IsCloseReceived => _state == ReaderState.Closed;

    /// <summary>
    /// Consumes bytes from <paramref name="input"/> and returns the next event. Call again with
    /// the unconsumed rest until <see cref="WebSocketEventKind.NeedMoreData"/>. The event's
    /// payload is valid until the next call. After a <see cref="WebSocketEventKind.ProtocolViolation"/>
    /// every call reports it again.
    /// </summary>
    /// <param name="input">Received bytes not yet consumed.</param>
    /// <param name="consumed">How many bytes of <paramref name="input"/> were used.</param>
    public WebSocketEvent Read(ReadOnlySpan<byte> input, out int consumed)
    {
        consumed = 0;
        while (true)
        {
            switch (_state)
            {
                case ReaderState.FrameHeader:
                    if (ReadHeader(input, ref consumed, out bool isComplete) is { } problem)
                    {
                        return Fail(problem);
                    }

                    if (!isComplete)
                    {
                        return WebSocketEvent.NeedMoreData;
                    }

                    break;

                case ReaderState.DataPayload:
                    if (_frameOffset == _frameLength)
                    {
                        if (FinishFrame())
                        {
                            return EndMessage();
                        }

                        break;
                    }

                    if (consumed == input.Length)
                    {
                        return WebSocketEvent.NeedMoreData;
                    }

                    if (!_isMessageCompressed)
                    {
                        return DeliverData(TakePayload(input, ref consumed, _chunk));
                    }

                    _decompressor!.Feed(TakePayload(input, ref consumed, _compressedChunk));
                    _state = ReaderState.DrainingInflater;
                    break;

                case ReaderState.DrainingInflater:
                case ReaderState.DrainingTail:
                    if (Inflate(out int produced) is { } inflateProblem)
                    {
                        return Fail(inflateProblem);
                    }

                    if (produced > 0)
                    {
                        return DeliverData(_chunk.AsSpan(0, produced));
                    }

                    if (_state == ReaderState.DrainingTail)
                    {
                        return EndMessage();
                    }

                    _state = ReaderState.DataPayload;
                    break;

                case ReaderState.ControlPayload:
                    if (!ReadControlPayload(input, ref consumed))
                    {
                        return WebSocketEvent.NeedMoreData;
                    }

                    _state = ReaderState.FrameHeader;
                    return ControlEvent();

                case ReaderState.Closed:
                    consumed = input.Length;
                    return WebSocketEvent.NeedMoreData;

                default:
                    return WebSocketEvent.Violation(_failureCode, _failureReason);
            }
        }
    }

    /// <summary>Releases the inflater, if any.</summary>
    public void Dispose() => _decompressor?.Dispose();

    /// <summary>Copies header octets; checks the first two as soon as they are in (RFC 6455 §5.2).</summary>
    private Problem? ReadHeader(ReadOnlySpan<byte> input, ref int consumed, out bool isComplete)
    {
        isComplete = false;
        while (_headerLength < HeaderLengthNeeded())
        {
            if (consumed == input.Length)
            {
                return null;
            }

            _header[_headerLength++] = input[consumed++];
            if (_headerLength == BaseHeaderLength && CheckBaseHeader() is { } problem)
            {
                return problem;
            }
        }

        isComplete = true;
        Problem? frameProblem = BeginFrame();
        _headerLength = 0;
        return frameProblem;
    }

    private int HeaderLengthNeeded()
    {
        if (_headerLength < BaseHeaderLength)
        {
            return BaseHeaderLength;
        }

        int extendedLength = (_header[1] & LengthBits) switch
        {
            Length16Marker => sizeof(ushort),
            Length64Marker => sizeof(ulong),
            _ => 0,
        };
        return BaseHeaderLength + extendedLength + ((_header[1] & MaskBit) != 0 ? MaskKeyLength : 0);
    }

    private Problem? CheckBaseHeader()
    {
        byte first = _header[0];
        var opcode = (WebSocketOpcode)(first & OpcodeBits);
        bool isControl = (first & ControlOpcodeBit) != 0;
        bool isMasked = (_header[1] & MaskBit) != 0;
        int length = _header[1] & LengthBits;
        return (first & Rsv2And3Bits) != 0 ? Problem.Protocol("RSV2/RSV3 set but no extension using them was negotiated (RFC 6455 §5.2)")
            : !IsDefinedOpcode(opcode) ? Problem.Protocol($"reserved opcode 0x{(int)opcode:X} (RFC 6455 §5.2)")
            : (first & Rsv1Bit) != 0 && CheckRsv1(opcode, isControl) is { } rsv1Problem ? rsv1Problem
            : _role == WebSocketRole.Server && !isMasked ? Problem.Protocol("client frame not masked (RFC 6455 §5.1)")
            : _role == WebSocketRole.Client && isMasked ? Problem.Protocol("server frame masked (RFC 6455 §5.1)")
            : isControl ? CheckControlHeader(opcode, (first & FinBit) != 0, length)
            : CheckDataSequence(opcode);
    }

    private static bool IsDefinedOpcode(WebSocketOpcode opcode) => opcode is WebSocketOpcode.Continuation
        or WebSocketOpcode.Text or WebSocketOpcode.Binary or WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong;

    private Problem? CheckRsv1(WebSocketOpcode opcode, bool isControl) =>
        _decompressor is null ? Problem.Protocol("RSV1 set but permessage-deflate was not negotiated (RFC 6455 §5.2)")
        : isControl ? Problem.Protocol("RSV1 set on a control frame; control frames cannot be compressed (RFC 7692 §6.1)")
        : opcode == WebSocketOpcode.Continuation ? Problem.Protocol("RSV1 set on a continuation frame (RFC 7692 §6.1)")
        : null;

    private static Problem? CheckControlHeader(WebSocketOpcode opcode, bool isFinal, int length) =>
        !isFinal ? Problem.Protocol("fragmented control frame (RFC 6455 §5.5)")
        : length > WebSocketFrameWriter.MaxControlPayloadLength ? Problem.Protocol("control frame payload over 125 bytes (RFC 6455 §5.5)")
        : opcode == WebSocketOpcode.Close && length == 1 ? Problem.Protocol("close frame with a 1-byte payload (RFC 6455 §5.5.1)")
        : null;

    private Problem? CheckDataSequence(WebSocketOpcode opcode) =>
        opcode == WebSocketOpcode.Continuation && _messageKind is null ? Problem.Protocol("continuation frame without a message to continue (RFC 6455 §5.4)")
        : opcode != WebSocketOpcode.Continuation && _messageKind is not null ? Problem.Protocol("new data frame before the fragmented message ended (RFC 6455 §5.4)")
        : null;

    /// <summary>Decodes the length and key of a complete header and enters the payload state.</summary>
    private Problem? BeginFrame()
    {
        byte first = _header[0];
        _opcode = (WebSocketOpcode)(first & OpcodeBits);
        _isFinal = (first & FinBit) != 0;
        _isMasked = (_header[1] & MaskBit) != 0;
        int length7 = _header[1] & LengthBits;
        ulong length = length7 switch
        {
            Length16Marker => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(BaseHeaderLength)),
            Length64Marker => BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(BaseHeaderLength)),
            _ => (ulong)length7,
        };
        if (length > long.MaxValue)
        {
            return Problem.Protocol("64-bit payload length with the most significant bit set (RFC 6455 §5.2)");
        }

        _frameLength = (long)length;
        _frameOffset = 0;
        int keyOffset = HeaderLengthNeeded() - MaskKeyLength;
        _maskKey = _isMasked ? WebSocketMask.ReadKey(_header.AsSpan(keyOffset)) : 0;
        if ((first & ControlOpcodeBit) != 0)
        {
            _state = ReaderState.ControlPayload;
            return null;
        }

        _state = ReaderState.DataPayload;
        return BeginDataFrame((first & Rsv1Bit) != 0);
    }

    private Problem? BeginDataFrame(bool isCompressed)
    {
        if (_opcode != WebSocketOpcode.Continuation)
        {
            _messageKind = (WebSocketMessageKind)_opcode;
            _isMessageCompressed = isCompressed;
            _messageLength = 0;
            _utf8.Reset();
        }

        if (_isMessageCompressed)
        {
            return null; // counted while inflating
        }

        _messageLength += _frameLength;
        return _messageLength > _maxMessageSize ? TooBig() : null;
    }

    /// <summary>Takes the next payload piece: a slice of the input, or unmasked into <paramref name="buffer"/>.</summary>
    private ReadOnlySpan<byte> TakePayload(ReadOnlySpan<byte> input, scoped ref int consumed, byte[] buffer)
    {
        int length = (int)Math.Min(_frameLength - _frameOffset, input.Length - consumed);
        ReadOnlySpan<byte> piece = input.Slice(consumed, length);
        if (_isMasked)
        {
            piece = piece[..Math.Min(length, buffer.Length)];
            WebSocketMask.Apply(piece, buffer, _maskKey, _frameOffset);
            piece = buffer.AsSpan(0, piece.Length);
        }

        consumed += piece.Length;
        _frameOffset += piece.Length;
        return piece;
    }

    /// <summary>At the end of a data frame's payload: true when the message is complete.</summary>
    private bool FinishFrame()
    {
        if (!_isFinal)
        {
            _state = ReaderState.FrameHeader;
            return false;
        }

        if (!_isMessageCompressed)
        {
            return true;
        }

        _decompressor!.FeedEndOfMessage();
        _state = ReaderState.DrainingTail;
        return false;
    }

    private Problem? Inflate(out int produced)
    {
        // Never inflate more than one octet past the limit: a small bomb cannot make us work hard.
        int allowed = (int)Math.Min(_chunk.Length, _maxMessageSize - _messageLength + 1);
        try
        {
            produced = _decompressor!.Read(_chunk.AsSpan(0, allowed));
        }
        catch (InvalidDataException)
        {
            produced = 0;
            return new Problem(WebSocketCloseCode.InvalidPayloadData, "invalid compressed data (RFC 7692 §6.2)");
        }

        _messageLength += produced;
        return _messageLength > _maxMessageSize ? TooBig() : null;
    }

    private WebSocketEvent DeliverData(ReadOnlySpan<byte> piece)
    {
        if (_messageKind == WebSocketMessageKind.Text && !_utf8.Append(piece))
        {
            return Fail(new Problem(WebSocketCloseCode.InvalidPayloadData, "invalid UTF-8 in a text message (RFC 6455 §8.1)"));
        }

        return WebSocketEvent.Data(WebSocketEventKind.MessageData, _messageKind!.Value, piece);
    }

    private WebSocketEvent EndMessage()
    {
        WebSocketMessageKind kind = _messageKind!.Value;
        if (kind == WebSocketMessageKind.Text && !_utf8.Complete())
        {
            return Fail(new Problem(WebSocketCloseCode.InvalidPayloadData, "text message ends inside a UTF-8 sequence (RFC 6455 §8.1)"));
        }

        if (_isMessageCompressed)
        {
            _decompressor!.EndMessage();
        }

        _messageKind = null;
        _state = ReaderState.FrameHeader;
        return WebSocketEvent.Data(WebSocketEventKind.MessageEnd, kind, default);
    }

    /// <summary>Collects and unmasks the control payload; true once complete.</summary>
    private bool ReadControlPayload(ReadOnlySpan<byte> input, ref int consumed)
    {
        int length = (int)Math.Min(_frameLength - _frameOffset, input.Length - consumed);
        Span<byte> target = _control.AsSpan((int)_frameOffset, length);
        input.Slice(consumed, length).CopyTo(target);
        if (_isMasked)
        {
            WebSocketMask.Apply(target, target, _maskKey, _frameOffset);
        }

        consumed += length;
        _frameOffset += length;
        return _frameOffset == _frameLength;
    }

    private WebSocketEvent ControlEvent()
    {
        ReadOnlySpan<byte> payload = _control.AsSpan(0, (int)_frameLength);
        return _opcode switch
        {
            WebSocketOpcode.Ping => WebSocketEvent.Control(WebSocketEventKind.Ping, payload),
            WebSocketOpcode.Pong => WebSocketEvent.Control(WebSocketEventKind.Pong, payload),
            _ => CloseEvent(payload),
        };
    }

    /// <summary>Checks a Close payload: optional code, then UTF-8 reason (RFC 6455 §5.5.1, §7.4).</summary>
    private WebSocketEvent CloseEvent(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            _state = ReaderState.Closed;
            return WebSocketEvent.Control(WebSocketEventKind.Close, default, WebSocketCloseCode.NoStatusReceived);
        }

        ushort code = BinaryPrimitives.ReadUInt16BigEndian(payload);
        ReadOnlySpan<byte> reason = payload[CloseCodeLength..];
        if (!WebSocketCloseCodes.IsValidOnWire(code))
        {
            return Fail(Problem.Protocol($"close code {code} may not be sent (RFC 6455 §7.4)"));
        }

        if (!Utf8.IsValid(reason))
        {
            return Fail(new Problem(WebSocketCloseCode.InvalidPayloadData, "close reason is not valid UTF-8 (RFC 6455 §5.5.1)"));
        }

        _state = ReaderState.Closed;
        return WebSocketEvent.Control(WebSocketEventKind.Close, reason, (WebSocketCloseCode)code);
    }

    private Problem TooBig() => new(WebSocketCloseCode.MessageTooBig, $"message larger than the {_maxMessageSize}-byte limit");

    private WebSocketEvent Fail(Problem problem)
    {
        _state = ReaderState.Failed;
        _failureCode = problem.Code;
        _failureReason = problem.Reason;
        return WebSocketEvent.Violation(problem.Code, problem.Reason);
    }

    /// <summary>A violation found while reading: the close code to send and why.</summary>
    private readonly record struct Problem(WebSocketCloseCode Code, string Reason)
    {
        public static Problem Protocol(string reason) => new(WebSocketCloseCode.ProtocolError, reason);
    }
}
