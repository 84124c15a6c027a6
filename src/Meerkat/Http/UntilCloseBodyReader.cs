// How this file works: a response body that ends when the connection closes (RFC 9112 §6.3
// rule 8). Every input byte is body; end of stream ends the body. Only responses use it.
namespace Meerkat.Http;

/// <summary>Reads a response body delimited by the end of the connection.</summary>
internal sealed class UntilCloseBodyReader
{
    private long _total;

    public void Start() => _total = 0;

    public BodyStatus Read(ReadOnlySpan<byte> input, bool endOfStream, HttpLimits limits, out int dataLength, out HttpError error)
    {
        error = HttpError.None;
        dataLength = input.Length;
        if (input.IsEmpty) return endOfStream ? BodyStatus.End : BodyStatus.NeedMoreData;
        _total += input.Length;
        if (_total > limits.MaxBodySize)
        {
            error = HttpError.BodyTooLarge;
            return BodyStatus.Error;
        }
        return BodyStatus.Data;
    }
}
