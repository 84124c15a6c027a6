// How this file works: the parsed start line and header fields of one message, plus the facts
// derived from them once (framing, keep-alive, upgrade, expect-continue). Everything is a range
// into the buffer the reader parsed; the object is reused for every message of a reader.
using System.Text;

namespace Meerkat.Http;

/// <summary>How a message's body is delimited (RFC 9112 §6.3).</summary>
public enum HttpFraming
{
    /// <summary>No body (a request without Content-Length or Transfer-Encoding, HEAD/1xx/204/304 responses, CONNECT, upgrades).</summary>
    None,
    /// <summary>Exactly <see cref="HttpHead.ContentLength"/> bytes.</summary>
    ContentLength,
    /// <summary>Chunked transfer coding (RFC 9112 §7.1).</summary>
    Chunked,
    /// <summary>Everything until the connection closes (responses only, RFC 9112 §6.3 rule 8).</summary>
    UntilClose,
}

/// <summary>
/// The head of one HTTP/1.x request or response: start line, header fields and derived facts.
/// Owned and reused by <see cref="HttpMessageReader"/>; populated when <see cref="HttpReadResult.Head"/>
/// or <see cref="HttpReadResult.Interim"/> is returned.
/// </summary>
/// <remarks>
/// Span properties are views over the caller's input buffer and are valid only while that buffer
/// is unchanged (until the consumed bytes are discarded or the buffer is reused). The scalar
/// properties (<see cref="StatusCode"/>, <see cref="KeepAlive"/>, ...) stay valid until the next head is read.
/// </remarks>
internal sealed class HttpHead
{
    private ReadOnlyMemory<byte> _buffer;
    private Range _method, _target, _reason, _upgrade;

    /// <summary>True for a request head, false for a response head.</summary>
    public bool IsRequest { get; }

    /// <summary>The header fields, in order.</summary>
    public HttpHeaders Headers { get; } = new();

    /// <summary>Request method, e.g. <c>GET</c> (any RFC 9110 token). Empty for responses.</summary>
    public ReadOnlySpan<byte> Method => Slice(_method);

    /// <summary>Request-target as sent: origin-form, absolute-form, authority-form or <c>*</c>. Empty for responses.</summary>
    public ReadOnlySpan<byte> Target => Slice(_target);

    /// <summary>The target up to the first <c>?</c> (the whole target when there is no query).</summary>
    public ReadOnlySpan<byte> Path
    {
        get
        {
            ReadOnlySpan<byte> target = Target;
            int q = target.IndexOf(HttpSyntax.QuestionMark);
            return q < 0 ? target : target[..q];
        }
    }

    /// <summary>The target after the first <c>?</c>, without it; empty when there is no query.</summary>
    public ReadOnlySpan<byte> Query
    {
        get
        {
            ReadOnlySpan<byte> target = Target;
            int q = target.IndexOf(HttpSyntax.QuestionMark);
            return q < 0 ? default : target[(q + 1)..];
        }
    }

    /// <summary>Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 (and for HTTP/1.2 and above, read as 1.1, RFC 9110 §6.2).</summary>
    public int VersionMinor { get; internal set; }

    /// <summary>Response status code (100–999). 0 for requests.</summary>
    public int StatusCode { get; internal set; }

    /// <summary>Response reason phrase (may be empty). Empty for requests.</summary>
    public ReadOnlySpan<byte> Reason => Slice(_reason);

    /// <summary>Whether the connection persists after this message (RFC 9112 §9.3): HTTP/1.1 unless
    /// <c>Connection: close</c>; HTTP/1.0 only with <c>Connection: keep-alive</c>; never after an until-close body.</summary>
    public bool KeepAlive { get; internal set; }

    /// <summary>A request carrying <c>Expect: 100-continue</c> (RFC 9110 §10.1.1).</summary>
    public bool ExpectContinue { get; internal set; }

    /// <summary>The message switches protocols after it ends: a request with <c>Connection: upgrade</c> and
    /// an Upgrade field, a CONNECT request, a 101 response, or a 2xx response to CONNECT.</summary>
    public bool IsUpgrade { get; internal set; }

    /// <summary>The Upgrade field's value (e.g. <c>websocket</c>) when present, else empty.</summary>
    public ReadOnlySpan<byte> UpgradeProtocol => Slice(_upgrade);

    /// <summary>How the body is delimited.</summary>
    public HttpFraming Framing { get; internal set; }

    /// <summary>The Content-Length value, or -1 when the field is absent.</summary>
    public long ContentLength { get; internal set; } = -1;

    /// <summary>Creates an empty head for a request (<paramref name="isRequest"/> true) or a response.</summary>
    public HttpHead(bool isRequest) => IsRequest = isRequest;

    /// <summary>Finds the first header named <paramref name="name"/> (ASCII case-insensitive). Allocation-free.</summary>
    public bool TryGetHeader(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value) => Headers.TryGetValue(name, out value);

    /// <summary>True when the method equals <paramref name="method"/> (methods are case-sensitive, RFC 9110 §9.1).</summary>
    public bool IsMethod(ReadOnlySpan<byte> method) => Method.SequenceEqual(method);

    /// <summary>The method as a new string. Allocates.</summary>
    public string MethodString => Encoding.ASCII.GetString(Method);

    /// <summary>The target as a new string (Latin-1). Allocates.</summary>
    public string TargetString => Encoding.Latin1.GetString(Target);

    /// <summary>The reason phrase as a new string (Latin-1). Allocates.</summary>
    public string ReasonString => Encoding.Latin1.GetString(Reason);

    /// <summary>How many Host field lines the head has (RFC 9112 §3.2 allows one), and the index of the
    /// last; found by <see cref="MessageFraming.Decide"/> in its one pass over the fields.</summary>
    internal (int Count, int Index) HostFields { get; set; }

    internal void Reset()
    {
        HostFields = default;
        _buffer = default;
        _method = _target = _reason = _upgrade = default;
        VersionMinor = StatusCode = 0;
        KeepAlive = ExpectContinue = IsUpgrade = false;
        Framing = HttpFraming.None;
        ContentLength = -1;
        Headers.Clear();
    }

    internal void SetRequestLine(Range method, Range target, int minor) => (_method, _target, VersionMinor) = (method, target, minor);

    internal void SetStatusLine(int minor, int status, Range reason) => (VersionMinor, StatusCode, _reason) = (minor, status, reason);

    internal void SetUpgradeProtocol(Range value) => _upgrade = value;

    /// <summary>Makes the ranges view <paramref name="buffer"/> (the input of the current read).</summary>
    internal void Bind(ReadOnlyMemory<byte> buffer)
    {
        _buffer = buffer;
        Headers.Bind(buffer);
    }

    private ReadOnlySpan<byte> Slice(Range range) => _buffer.IsEmpty ? default : _buffer.Span[range];
}
