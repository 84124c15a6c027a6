// How this file works: one enum of everything a peer can do wrong in HTTP/1.1 framing, and one
// static class mapping each reason to the status a server answers with and to a message.
// Responses parsed by a client use the same reasons; the status is then only informative.
namespace Meerkat.Http;

/// <summary>Why the reader rejected a message. See <see cref="HttpErrors"/> for status codes and messages.</summary>
public enum HttpError
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>The request line is not <c>method SP request-target SP HTTP-version</c> (RFC 9112 §3).</summary>
    InvalidRequestLine,
    /// <summary>The method is not a token (RFC 9110 §9.1).</summary>
    InvalidMethod,
    /// <summary>The request-target has a forbidden byte or is not in a form allowed for the method (RFC 9112 §3.2).</summary>
    InvalidTarget,
    /// <summary>The version is not <c>HTTP/DIGIT.DIGIT</c> (RFC 9112 §2.3).</summary>
    InvalidVersion,
    /// <summary>The version is well formed but its major version is not 1 (505). A higher 1.x minor
    /// version is read as HTTP/1.1 (RFC 9110 §2.5, §6.2).</summary>
    UnsupportedVersion,
    /// <summary>The status line is not <c>HTTP-version SP 3DIGIT SP reason</c> (RFC 9112 §4).</summary>
    InvalidStatusLine,
    /// <summary>A CR not followed by LF, or a bare LF line ending (RFC 9112 §2.2; this reader is strict).</summary>
    InvalidLineEnding,
    /// <summary>A field name is empty, not a token, or followed by whitespace before the colon (RFC 9112 §5.1).</summary>
    InvalidHeaderName,
    /// <summary>A field value contains a control character (RFC 9110 §5.5).</summary>
    InvalidHeaderValue,
    /// <summary>A field line starts with whitespace: obsolete line folding (RFC 9112 §5.2), rejected.</summary>
    HeaderLineFolding,
    /// <summary>The request line is longer than <see cref="HttpLimits.MaxRequestLineLength"/> (414).</summary>
    RequestLineTooLong,
    /// <summary>The head is larger than <see cref="HttpLimits.MaxHeaderBytes"/> (431).</summary>
    HeadersTooLarge,
    /// <summary>More header fields than <see cref="HttpLimits.MaxHeaderCount"/> (431).</summary>
    TooManyHeaders,
    /// <summary>Content-Length is not a list of one non-negative decimal number (RFC 9112 §6.3 rule 5).</summary>
    InvalidContentLength,
    /// <summary>Several Content-Length fields with different values (RFC 9110 §8.6).</summary>
    DuplicateContentLength,
    /// <summary>Both Content-Length and Transfer-Encoding: a smuggling attempt (RFC 9112 §6.3 rule 3).</summary>
    ContentLengthWithTransferEncoding,
    /// <summary>A request's Transfer-Encoding does not end in <c>chunked</c>, or repeats it (RFC 9112 §6.3 rule 4).</summary>
    TransferEncodingNotChunkedLast,
    /// <summary>A request uses a transfer coding this reader does not know (RFC 9112 §6.1: 501).</summary>
    UnknownTransferCoding,
    /// <summary>A chunk-size line is malformed (RFC 9112 §7.1).</summary>
    InvalidChunkSize,
    /// <summary>A chunk size does not fit in 63 bits.</summary>
    ChunkTooLarge,
    /// <summary>A chunk's data is not followed by CRLF (RFC 9112 §7.1).</summary>
    InvalidChunk,
    /// <summary>A chunk extension is longer than <see cref="HttpLimits.MaxChunkExtensionLength"/>.</summary>
    ChunkExtensionTooLong,
    /// <summary>The trailer section is larger than <see cref="HttpLimits.MaxTrailerBytes"/> (431).</summary>
    TrailersTooLarge,
    /// <summary>The body is larger than <see cref="HttpLimits.MaxBodySize"/> (413).</summary>
    BodyTooLarge,
    /// <summary>The stream ended in the middle of a message.</summary>
    IncompleteMessage,
    /// <summary>An HTTP/1.1 request without a Host field (RFC 9112 §3.2): 400.</summary>
    MissingHost,
    /// <summary>A request with more than one Host field line (RFC 9112 §3.2): 400.</summary>
    DuplicateHost,
    /// <summary>A Host field whose value is not <c>uri-host [ ":" port ]</c> (RFC 9110 §7.2, RFC 9112 §3.2): 400.</summary>
    InvalidHost,
}

/// <summary>Status codes and human-readable messages for <see cref="HttpError"/>.</summary>
internal static class HttpErrors
{
    /// <summary>The status a server answers a request rejected for <paramref name="error"/> with.</summary>
    public static int StatusCode(this HttpError error) => error switch
    {
        HttpError.None => 200,
        HttpError.RequestLineTooLong => 414,
        HttpError.HeadersTooLarge or HttpError.TooManyHeaders or HttpError.TrailersTooLarge => 431,
        HttpError.BodyTooLarge or HttpError.ChunkTooLarge => 413,
        HttpError.UnknownTransferCoding => 501,
        HttpError.UnsupportedVersion => 505,
        _ => 400,
    };

    /// <summary>A one-sentence description of <paramref name="error"/>, suitable for a log or a 4xx body.</summary>
    public static string Message(this HttpError error) => error switch
    {
        HttpError.None => "No error.",
        HttpError.InvalidRequestLine => "Malformed request line.",
        HttpError.InvalidMethod => "The method is not a valid token.",
        HttpError.InvalidTarget => "Invalid request target.",
        HttpError.InvalidVersion => "Malformed HTTP version.",
        HttpError.UnsupportedVersion => "Only HTTP/1.x is supported.",
        HttpError.InvalidStatusLine => "Malformed status line.",
        HttpError.InvalidLineEnding => "Lines must end with CRLF.",
        HttpError.InvalidHeaderName => "Invalid header field name.",
        HttpError.InvalidHeaderValue => "Invalid character in a header field value.",
        HttpError.HeaderLineFolding => "Obsolete line folding (a field line starting with whitespace) is not accepted.",
        HttpError.RequestLineTooLong => "The request line is too long.",
        HttpError.HeadersTooLarge => "The request header section is too large.",
        HttpError.TooManyHeaders => "Too many header fields.",
        HttpError.InvalidContentLength => "Invalid Content-Length.",
        HttpError.DuplicateContentLength => "Several Content-Length fields with different values.",
        HttpError.ContentLengthWithTransferEncoding => "Content-Length and Transfer-Encoding must not both be present.",
        HttpError.TransferEncodingNotChunkedLast => "The final transfer coding must be chunked, applied once.",
        HttpError.UnknownTransferCoding => "Unknown transfer coding.",
        HttpError.InvalidChunkSize => "Malformed chunk-size line.",
        HttpError.ChunkTooLarge => "Chunk size too large.",
        HttpError.InvalidChunk => "Chunk data must be followed by CRLF.",
        HttpError.ChunkExtensionTooLong => "Chunk extensions too long.",
        HttpError.TrailersTooLarge => "The trailer section is too large.",
        HttpError.BodyTooLarge => "The body is too large.",
        HttpError.IncompleteMessage => "The connection ended in the middle of a message.",
        HttpError.MissingHost => "An HTTP/1.1 request needs a Host header field.",
        HttpError.DuplicateHost => "More than one Host header field.",
        HttpError.InvalidHost => "Invalid Host header field value.",
        _ => "Unknown error.",
    };
}
