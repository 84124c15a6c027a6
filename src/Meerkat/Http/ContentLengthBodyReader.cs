// How this file works: a body of exactly N bytes (RFC 9112 §6.3 rule 6). Each read hands back as
// much of the input as still belongs to the body, as a slice of the input: nothing is copied.
namespace Meerkat.Http;

/// <summary>What a body reader's step produced.</summary>
internal enum BodyStatus
{
    /// <summary>Nothing yet: the reader needs more bytes (any framing bytes seen were consumed).</summary>
    NeedMoreData,
    /// <summary>A piece of body data: <c>input[dataStart..(dataStart + dataLength)]</c>.</summary>
    Data,
    /// <summary>The body is complete.</summary>
    End,
    /// <summary>The body is malformed or too large.</summary>
    Error,
}

/// <summary>Reads a body delimited by Content-Length.</summary>
internal sealed class ContentLengthBodyReader
{
    private long _remaining;

    public void Start(long length) => _remaining = length;

    public BodyStatus Read(ReadOnlySpan<byte> input, bool endOfStream, out int dataLength, out HttpError error)
    {
        error = HttpError.None;
        dataLength = 0;
        if (_remaining == 0) return BodyStatus.End;
        if (input.IsEmpty)
        {
            if (!endOfStream) return BodyStatus.NeedMoreData;
            error = HttpError.IncompleteMessage;
            return BodyStatus.Error;
        }
        dataLength = (int)Math.Min(_remaining, input.Length);
        _remaining -= dataLength;
        return BodyStatus.Data;
    }
}
