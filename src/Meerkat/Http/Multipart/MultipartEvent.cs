// How this file works
// -------------------
// The event vocabulary of MultipartReader, one table:
//   event        when                                           data
//   NeedMoreData all input given was consumed, feed more         -
//   PartBegin    a part's header block is complete                Part (headers)
//   PartData     bytes of the current part's body                 Data: valid until the next Read call
//   PartEnd      the delimiter after a part was seen              Part
//   End          the close delimiter "--boundary--" was seen      - (later input is epilogue, ignored)
//   Error        the body is malformed or over a limit            Error (the reader stays failed)
namespace Meerkat.Http.Multipart;

/// <summary>What <see cref="MultipartReader.Read"/> reports.</summary>
public enum MultipartEventKind
{
    /// <summary>All the input was consumed without completing an event: feed the next piece.</summary>
    NeedMoreData,

    /// <summary>A part's headers are complete: see <see cref="MultipartEvent.Part"/>.</summary>
    PartBegin,

    /// <summary>A piece of the current part's body: see <see cref="MultipartEvent.Data"/>.</summary>
    PartData,

    /// <summary>The current part is complete.</summary>
    PartEnd,

    /// <summary>The close delimiter was seen: the multipart body is complete. Later input is ignored.</summary>
    End,

    /// <summary>The body is malformed or exceeds a limit: see <see cref="MultipartEvent.Error"/>.</summary>
    Error,
}

/// <summary>Why a multipart body was rejected.</summary>
public enum MultipartError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The Content-Type is not <c>multipart/*</c>.</summary>
    NotMultipart,

    /// <summary>The Content-Type has no boundary parameter.</summary>
    MissingBoundary,

    /// <summary>The boundary is not 1-70 valid characters (RFC 2046 §5.1.1).</summary>
    InvalidBoundary,

    /// <summary>A boundary delimiter is followed by something other than "--", padding and CRLF.</summary>
    MalformedDelimiter,

    /// <summary>A part's header block exceeds <see cref="MultipartReaderOptions.MaxPartHeaderBytes"/>.</summary>
    HeadersTooLarge,

    /// <summary>A part's header line has no colon or an empty name.</summary>
    MalformedHeader,

    /// <summary>The body has more than <see cref="MultipartReaderOptions.MaxParts"/> parts.</summary>
    TooManyParts,

    /// <summary>The body ended before the close delimiter.</summary>
    Truncated,
}

/// <summary>One event from <see cref="MultipartReader.Read"/>. A ref struct: it cannot outlive the call that consumes it.</summary>
public readonly ref struct MultipartEvent
{
    internal MultipartEvent(MultipartEventKind kind, MultipartPart? part = null, ReadOnlySpan<byte> data = default,
        MultipartError error = MultipartError.None)
    {
        Kind = kind;
        Part = part;
        Data = data;
        Error = error;
    }

    /// <summary>Which event this is.</summary>
    public MultipartEventKind Kind { get; }

    /// <summary>The current part for PartBegin, PartData and PartEnd; otherwise null.</summary>
    public MultipartPart? Part { get; }

    /// <summary>For PartData: body bytes, a slice of the input (or, for bytes that looked like a delimiter start, of the reader's own delimiter); valid until the next Read.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>For Error: the reason.</summary>
    public MultipartError Error { get; }
}
