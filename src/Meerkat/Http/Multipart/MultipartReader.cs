// How this file works
// -------------------
// A sans-I/O, streaming multipart reader (RFC 2046 §5.1, RFC 7578). Give it body bytes in
// pieces of any size; each Read returns one event and how many bytes it consumed; call
// again with the rest. Part data is returned as slices of the input (zero-copy). The only
// copy is a part's header block, bounded by MaxPartHeaderBytes.
//
// A delimiter is CRLF "--" boundary. Since a boundary never contains CR, a delimiter can
// only start at a CR, and a tail of a piece that is a proper prefix of the delimiter is
// either completed by the next input or is plain data in its entirety. Such a tail is not
// copied: it *is* a prefix of the delimiter, so we keep only its length (_matched) and, if
// it turns out to be data, return it as a slice of the delimiter itself.
//
// The CRLF that precedes a delimiter may already have been read: at the very start of the
// body (so "--boundary" opens it), and at the end of a part's header block (RFC 2046
// §5.1.1: body-part := fields [CRLF *OCTET], so "fields CRLF --boundary" is a part with no
// body). In both places the reader starts with a *virtual* matched CRLF that is never
// returned as data. The preamble is discarded.
//
// States and their legal next states:
//   Preamble       -> AfterDelimiter              (delimiter found; bytes before it ignored)
//   AfterDelimiter -> CloseDash | DelimiterCr | AfterDelimiter (transport padding) | Failed
//   CloseDash      -> Epilogue (End) | Failed
//   DelimiterCr    -> Headers | Failed (TooManyParts, MalformedDelimiter)
//   Headers        -> Body (PartBegin) | Failed (HeadersTooLarge, MalformedHeader)
//   Body           -> AfterDelimiter (PartEnd)
//   Epilogue       -> Epilogue                    (input ignored, RFC 2046 §5.1.1)
//   Failed         -> Failed
namespace Meerkat.Http.Multipart;

/// <summary>
/// Reads a multipart body incrementally. Not thread-safe; one instance per body.
/// Typical loop: <c>while (!input.IsEmpty) { var e = reader.Read(input, out int n); input = input[n..]; handle(e); }</c>
/// then, when the body has ended, <see cref="Complete"/>.
/// </summary>
public sealed class MultipartReader
{
    private const byte CR = (byte)'\r';
    private const byte LF = (byte)'\n';
    private const byte Dash = (byte)'-';
    private const byte Space = (byte)' ';
    private const byte Tab = (byte)'\t';
    private const int CrLfLength = 2;

    private enum State { Preamble, AfterDelimiter, CloseDash, DelimiterCr, Headers, Body, Epilogue, Failed }

    private readonly byte[] _delimiter;
    private readonly MultipartReaderOptions _options;
    private byte[]? _headerBlock;
    private int _matched;
    private int _virtualMatched;
    private int _headerLength;
    private int _partCount;
    private State _state = State.Preamble;
    private MultipartPart? _part;
    private MultipartError _error;

    /// <summary>Creates a reader for a body delimited by <paramref name="boundary"/>.</summary>
    /// <param name="boundary">The boundary, unquoted (see <see cref="MultipartBoundary.TryParse"/>).</param>
    /// <param name="options">Limits; null for the defaults.</param>
    /// <exception cref="ArgumentException">The boundary is not valid per RFC 2046 §5.1.1.</exception>
    public MultipartReader(string boundary, MultipartReaderOptions? options = null)
    {
        if (!MultipartBoundary.IsValid(boundary))
        {
            throw new ArgumentException("The boundary must be 1-70 RFC 2046 bchars not ending in a space.", nameof(boundary));
        }
        _options = options ?? new MultipartReaderOptions();
        _delimiter = System.Text.Encoding.ASCII.GetBytes("\r\n--" + boundary);
        // As if a CRLF preceded the body, so that a leading "--boundary" is a delimiter.
        _matched = _virtualMatched = CrLfLength;
    }

    /// <summary>Whether the close delimiter has been seen.</summary>
    public bool IsEnded => _state == State.Epilogue;

    /// <summary>The error that stopped the reader, or <see cref="MultipartError.None"/>.</summary>
    public MultipartError Error => _error;

    /// <summary>Creates a reader from a request's Content-Type header.</summary>
    /// <param name="contentType">The Content-Type value, e.g. <c>multipart/form-data; boundary=xyz</c>.</param>
    /// <param name="reader">The reader when the method returns <see cref="MultipartError.None"/>.</param>
    /// <param name="options">Limits; null for the defaults.</param>
    /// <returns>None, or why the header does not describe a multipart body.</returns>
    public static MultipartError TryCreate(string? contentType, out MultipartReader? reader, MultipartReaderOptions? options = null)
    {
        MultipartError error = MultipartBoundary.TryParse(contentType, out string boundary);
        reader = error == MultipartError.None ? new MultipartReader(boundary, options) : null;
        return error;
    }

    /// <summary>Consumes a prefix of <paramref name="input"/> and returns the next event.</summary>
    /// <param name="input">The next unconsumed body bytes; may be empty.</param>
    /// <param name="consumed">How many bytes of <paramref name="input"/> were used; pass the rest next time.</param>
    /// <returns>An event; PartData's span is valid until the next call.</returns>
    public MultipartEvent Read(ReadOnlySpan<byte> input, out int consumed)
    {
        consumed = 0;
        while (true)
        {
            MultipartEvent next = Step(input[consumed..], out int used);
            consumed += used;
            if (next.Kind != MultipartEventKind.NeedMoreData || consumed == input.Length || _state == State.Failed)
            {
                return next;
            }
        }
    }

    /// <summary>Tells the reader the body has ended.</summary>
    /// <returns>None when the close delimiter had been seen; otherwise <see cref="MultipartError.Truncated"/> (or the earlier error).</returns>
    public MultipartError Complete()
    {
        if (_state is not State.Epilogue and not State.Failed)
        {
            Fail(MultipartError.Truncated);
        }
        return _error;
    }

    private MultipartEvent Step(ReadOnlySpan<byte> input, out int used)
    {
        used = 0;
        if (_state == State.Failed)
        {
            return new MultipartEvent(MultipartEventKind.Error, error: _error);
        }
        if (input.IsEmpty)
        {
            return default;
        }
        return _state switch
        {
            State.Preamble or State.Body => ScanForDelimiter(input, out used),
            State.Headers => ReadHeaders(input, out used),
            State.Epilogue => Consume(input.Length, out used),
            _ => ReadAfterDelimiter(input[0], out used),
        };
    }

    // One byte after "--boundary": "--" closes, SP/HTAB is transport padding, CRLF opens a part.
    private MultipartEvent ReadAfterDelimiter(byte b, out int used)
    {
        used = 1;
        switch (_state, b)
        {
            case (State.AfterDelimiter, Dash):
                _state = State.CloseDash;
                return default;
            case (State.AfterDelimiter, Space or Tab):
                return default;
            case (State.AfterDelimiter, CR):
                _state = State.DelimiterCr;
                return default;
            case (State.CloseDash, Dash):
                _state = State.Epilogue;
                return new MultipartEvent(MultipartEventKind.End);
            case (State.DelimiterCr, LF):
                return BeginHeaders();
            default:
                used = 0;
                return Fail(MultipartError.MalformedDelimiter);
        }
    }

    private MultipartEvent BeginHeaders()
    {
        if (++_partCount > _options.MaxParts)
        {
            return Fail(MultipartError.TooManyParts);
        }
        _headerBlock ??= new byte[_options.MaxPartHeaderBytes + CrLfLength];
        _headerBlock[0] = CR;
        _headerBlock[1] = LF;
        _headerLength = CrLfLength;
        _state = State.Headers;
        return default;
    }

    // The header block ends at CRLF CRLF; the leading virtual CRLF makes an empty block match at 0.
    private MultipartEvent ReadHeaders(ReadOnlySpan<byte> input, out int used)
    {
        int previous = _headerLength;
        int take = Math.Min(input.Length, _headerBlock!.Length - _headerLength);
        input[..take].CopyTo(_headerBlock.AsSpan(_headerLength));
        _headerLength += take;
        int searchFrom = Math.Max(0, previous - 3);
        int end = _headerBlock.AsSpan(searchFrom, _headerLength - searchFrom).IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            used = take;
            return _headerLength == _headerBlock.Length ? Fail(MultipartError.HeadersTooLarge) : default;
        }
        end += searchFrom;
        used = end + 4 - previous;
        _part = MultipartPart.TryParse(_partCount - 1, _headerBlock.AsSpan(CrLfLength, end));
        if (_part is null)
        {
            return Fail(MultipartError.MalformedHeader);
        }
        _state = State.Body;
        _matched = _virtualMatched = CrLfLength;
        return new MultipartEvent(MultipartEventKind.PartBegin, _part);
    }

    private MultipartEvent ScanForDelimiter(ReadOnlySpan<byte> input, out int used) =>
        _matched > 0 ? ContinuePartialDelimiter(input, out used) : SearchDelimiter(input, out used);

    // _matched bytes of the delimiter were seen: either the input completes it, or they were data.
    private MultipartEvent ContinuePartialDelimiter(ReadOnlySpan<byte> input, out int used)
    {
        int want = Math.Min(_delimiter.Length - _matched, input.Length);
        if (input[..want].SequenceEqual(_delimiter.AsSpan(_matched, want)))
        {
            used = want;
            _matched += want;
            return _matched == _delimiter.Length ? DelimiterSeen() : default;
        }
        used = 0;
        ReadOnlySpan<byte> data = _delimiter.AsSpan(_virtualMatched, _matched - _virtualMatched);
        _matched = _virtualMatched = 0;
        return Data(data);
    }

    private MultipartEvent SearchDelimiter(ReadOnlySpan<byte> input, out int used)
    {
        int found = input.IndexOf(_delimiter);
        if (found == 0)
        {
            used = _delimiter.Length;
            return DelimiterSeen();
        }
        if (found > 0)
        {
            used = found;
            return Data(input[..found]);
        }
        int tail = PartialDelimiterStart(input);
        _matched = input.Length - tail;
        used = input.Length;
        return Data(input[..tail]);
    }

    // Where a suffix of input begins that is a proper prefix of the delimiter, or input.Length.
    private int PartialDelimiterStart(ReadOnlySpan<byte> input)
    {
        int start = Math.Max(0, input.Length - (_delimiter.Length - 1));
        while (start < input.Length)
        {
            int cr = input[start..].IndexOf(CR);
            if (cr < 0)
            {
                break;
            }
            start += cr;
            if (_delimiter.AsSpan().StartsWith(input[start..]))
            {
                return start;
            }
            start++;
        }
        return input.Length;
    }

    private MultipartEvent DelimiterSeen()
    {
        _matched = _virtualMatched = 0;
        bool endsPart = _state == State.Body;
        _state = State.AfterDelimiter;
        return endsPart ? new MultipartEvent(MultipartEventKind.PartEnd, _part) : default;
    }

    // Part data is an event; preamble bytes and empty slices are not.
    private MultipartEvent Data(ReadOnlySpan<byte> data) =>
        _state == State.Body && !data.IsEmpty ? new MultipartEvent(MultipartEventKind.PartData, _part, data) : default;

    private static MultipartEvent Consume(int length, out int used)
    {
        used = length;
        return default;
    }

    private MultipartEvent Fail(MultipartError error)
    {
        _state = State.Failed;
        _error = error;
        _part = null;
        return new MultipartEvent(MultipartEventKind.Error, error: error);
    }
}
