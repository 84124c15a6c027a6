// How this file works: decodes the chunked transfer coding (RFC 9112 §7.1) as a byte-level state
// machine over the chunk-size lines and the CRLF after each chunk's data, handing chunk data back
// as slices of the input (zero-copy). Chunk extensions (§7.1.1) are validated and skipped. The
// trailer section (§7.1.2) is parsed by HeadParser once it is complete, and exposed as Trailers.
//
// States and their legal successors:
//   Size           -> Size (hex digit), AfterSize (BWS), ExtBeforeName (';'), SizeLineLf (CR)
//   AfterSize      -> AfterSize (BWS), ExtBeforeName (';')
//   ExtBeforeName  -> ExtBeforeName (BWS), ExtName (tchar)
//   ExtName        -> ExtName (tchar), ExtAfterName (BWS), ExtBeforeValue ('='), ExtBeforeName (';'), SizeLineLf (CR)
//   ExtAfterName   -> ExtAfterName (BWS), ExtBeforeValue ('='), ExtBeforeName (';'), SizeLineLf (CR)
//   ExtBeforeValue -> ExtBeforeValue (BWS), ExtQuoted ('"'), ExtToken (tchar)
//   ExtToken       -> ExtToken (tchar), ExtAfterValue (BWS), ExtBeforeName (';'), SizeLineLf (CR)
//   ExtQuoted      -> ExtQuoted (qdtext), ExtQuotedPair ('\'), ExtAfterValue ('"')
//   ExtQuotedPair  -> ExtQuoted
//   ExtAfterValue  -> ExtAfterValue (BWS), ExtBeforeName (';'), SizeLineLf (CR)
//   SizeLineLf     -> Data (LF, size > 0), Trailers (LF, size 0)
//   Data           -> Data, DataCr (chunk fully returned)
//   DataCr         -> DataLf (CR);  DataLf -> Size (LF)
//   Trailers       -> end of body (blank line)
// Any other byte is an error.
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http;

/// <summary>Reads a chunked body.</summary>
internal sealed class ChunkedBodyReader
{
    private enum State
    {
        Size, AfterSize, ExtBeforeName, ExtName, ExtAfterName, ExtBeforeValue, ExtToken, ExtQuoted,
        ExtQuotedPair, ExtAfterValue, SizeLineLf, Data, DataCr, DataLf, Trailers,
    }

    private const int MaxSizeDigits = 15; // 15 hex digits fit in a long; more would overflow

    private readonly HeadParser _trailerParser = new(isRequest: false);
    private HttpLimits _limits = HttpLimits.Defaults;
    private State _state;
    private long _chunkRemaining, _total;
    private int _sizeDigits, _extensionLength;

    /// <summary>The trailer fields, valid after <see cref="BodyStatus.End"/> while the input is unchanged.</summary>
    public HttpHeaders Trailers { get; } = new();

    public void Start(HttpLimits limits)
    {
        _limits = limits;
        (_state, _chunkRemaining, _total, _sizeDigits, _extensionLength) = (State.Size, 0, 0, 0, 0);
        Trailers.Clear();
    }

    /// <summary>Advances over framing bytes until chunk data, the end of the body, or the end of the input.</summary>
    public BodyStatus Read(ReadOnlyMemory<byte> input, bool endOfStream, HttpLimits limits,
                           out int dataStart, out int dataLength, out int consumed, out HttpError error)
    {
        ReadOnlySpan<byte> span = input.Span;
        (dataStart, dataLength, error) = (0, 0, HttpError.None);
        int pos = 0;
        while (pos < span.Length && _state != State.Trailers)
        {
            if (_state == State.Data)
            {
                (dataStart, dataLength) = (pos, (int)Math.Min(_chunkRemaining, span.Length - pos));
                _chunkRemaining -= dataLength;
                if (_chunkRemaining == 0) _state = State.DataCr;
                consumed = pos + dataLength;
                return BodyStatus.Data;
            }
            error = Step(span[pos++], limits);
            if (error != HttpError.None) return Fail(pos, out consumed);
        }
        if (_state == State.Trailers) return ReadTrailers(input[pos..], pos, endOfStream, limits, out consumed, out error);
        consumed = pos;
        if (!endOfStream) return BodyStatus.NeedMoreData;
        error = HttpError.IncompleteMessage;
        return BodyStatus.Error;
    }

    private BodyStatus ReadTrailers(ReadOnlyMemory<byte> section, int offset, bool endOfStream, HttpLimits limits,
                                    out int consumed, out HttpError error)
    {
        error = HttpError.None;
        switch (_trailerParser.Parse(section.Span, null, Trailers, limits))
        {
            case HeadStatus.Complete:
                Trailers.Bind(section);
                consumed = offset + _trailerParser.Length;
                return BodyStatus.End;
            case HeadStatus.Error:
                error = _trailerParser.Error;
                return Fail(offset, out consumed);
            default:
                consumed = offset; // the trailer section must be whole in one input: keep it
                if (!endOfStream) return BodyStatus.NeedMoreData;
                error = HttpError.IncompleteMessage;
                return BodyStatus.Error;
        }
    }

    private HttpError Step(byte b, HttpLimits limits)
    {
        if (_state is > State.Size and < State.SizeLineLf && ++_extensionLength > limits.MaxChunkExtensionLength)
            return HttpError.ChunkExtensionTooLong;
        return _state switch
        {
            State.Size => StepSize(b, limits),
            State.AfterSize => IsWhitespace(b) ? Stay() : b == Semicolon ? Go(State.ExtBeforeName) : HttpError.InvalidChunkSize,
            State.ExtBeforeName => IsWhitespace(b) ? Stay() : IsTokenChar(b) ? Go(State.ExtName) : HttpError.InvalidChunkSize,
            State.ExtName => IsTokenChar(b) ? Stay() : AfterExtensionPart(b, State.ExtAfterName, allowEquals: true),
            State.ExtAfterName => IsWhitespace(b) ? Stay() : AfterExtensionPart(b, State.ExtAfterName, allowEquals: true),
            State.ExtBeforeValue => IsWhitespace(b) ? Stay() : b == DoubleQuote ? Go(State.ExtQuoted)
                                    : IsTokenChar(b) ? Go(State.ExtToken) : HttpError.InvalidChunkSize,
            State.ExtToken => IsTokenChar(b) ? Stay() : AfterExtensionPart(b, State.ExtAfterValue, allowEquals: false),
            State.ExtQuoted => b == DoubleQuote ? Go(State.ExtAfterValue) : b == Backslash ? Go(State.ExtQuotedPair)
                               : IsQuotedChar(b) ? Stay() : HttpError.InvalidChunkSize,
            State.ExtQuotedPair => IsQuotedChar(b) ? Go(State.ExtQuoted) : HttpError.InvalidChunkSize,
            State.ExtAfterValue => IsWhitespace(b) ? Stay() : AfterExtensionPart(b, State.ExtAfterValue, allowEquals: false),
            State.SizeLineLf => b == LF ? EndSizeLine() : HttpError.InvalidChunkSize,
            State.DataCr => b == CR ? Go(State.DataLf) : HttpError.InvalidChunk,
            State.DataLf => b == LF ? StartChunk() : HttpError.InvalidChunk,
            _ => HttpError.InvalidChunk,
        };
    }

    /// <summary>chunk-size = 1*HEXDIG, then BWS ";" extensions, or CRLF.</summary>
    private HttpError StepSize(byte b, HttpLimits limits)
    {
        int digit = HexValue(b);
        if (digit >= 0)
        {
            if (++_sizeDigits > MaxSizeDigits) return HttpError.ChunkTooLarge;
            _chunkRemaining = (_chunkRemaining << 4) | (uint)digit;
            return HttpError.None;
        }
        if (_sizeDigits == 0) return HttpError.InvalidChunkSize;
        _total += _chunkRemaining;
        if (_total > limits.MaxBodySize) return HttpError.BodyTooLarge;
        return b == CR ? Go(State.SizeLineLf) : b == Semicolon ? Go(State.ExtBeforeName)
             : IsWhitespace(b) ? Go(State.AfterSize) : HttpError.InvalidChunkSize;
    }

    /// <summary>After an extension name or value: more whitespace (<paramref name="whitespaceState"/>), '=', ';' or CR.</summary>
    private HttpError AfterExtensionPart(byte b, State whitespaceState, bool allowEquals) => b switch
    {
        SP or HTAB => Go(whitespaceState),
        EqualsSign when allowEquals => Go(State.ExtBeforeValue),
        Semicolon => Go(State.ExtBeforeName),
        CR => Go(State.SizeLineLf),
        _ => HttpError.InvalidChunkSize,
    };

    private HttpError EndSizeLine()
    {
        if (_chunkRemaining == 0)
        {
            _trailerParser.StartTrailers(_limits);
            return Go(State.Trailers);
        }
        return Go(State.Data);
    }

    private HttpError StartChunk()
    {
        (_chunkRemaining, _sizeDigits, _extensionLength) = (0, 0, 0);
        return Go(State.Size);
    }

    private HttpError Go(State next)
    {
        _state = next;
        return HttpError.None;
    }

    private static HttpError Stay() => HttpError.None;

    private static bool IsTokenChar(byte b) => TokenChars.Contains(b);

    private static bool IsQuotedChar(byte b) => QuotedChars.Contains(b);

    private static BodyStatus Fail(int pos, out int consumed)
    {
        consumed = pos;
        return BodyStatus.Error;
    }
}
