// How this file works: a received field section after validation. Pseudo-header fields are
// kept apart (by their index in the decoded list) and the regular fields are exposed as the
// same HttpHeaders type HTTP/1.1 uses, viewing the decoded bytes in place, so that handlers
// written for HTTP/1.1 read HTTP/2 requests unchanged. Everything is reused section after
// section: valid until the next event of the connection.
using Meerkat.Http;
using Meerkat.Http2.Hpack;

namespace Meerkat.Http2;

/// <summary>A validated header or trailer section of one HTTP/2 message.</summary>
internal sealed class Http2HeaderSection
{
    private HpackFieldList? _source;
    private int _method, _scheme, _authority, _path, _protocol;

    /// <summary>Creates an empty section.</summary>
    public Http2HeaderSection() => Clear(null);

    /// <summary>The regular fields (no pseudo-header fields), in order.</summary>
    public HttpHeaders Fields { get; } = new();

    /// <summary>:method, empty for a response.</summary>
    public ReadOnlySpan<byte> Method => ValueOf(_method);

    /// <summary>:scheme, empty when absent (CONNECT, responses).</summary>
    public ReadOnlySpan<byte> Scheme => ValueOf(_scheme);

    /// <summary>:authority, or empty (a request may carry Host instead).</summary>
    public ReadOnlySpan<byte> Authority => ValueOf(_authority);

    /// <summary>:path, empty when absent (CONNECT, responses).</summary>
    public ReadOnlySpan<byte> Path => ValueOf(_path);

    /// <summary>:protocol of an extended CONNECT (RFC 8441), or empty.</summary>
    public ReadOnlySpan<byte> Protocol => ValueOf(_protocol);

    /// <summary>True when :authority was present (possibly empty).</summary>
    public bool HasAuthority => _authority >= 0;

    /// <summary>:status of a response (100–599), 0 for a request or trailers.</summary>
    public int Status { get; internal set; }

    /// <summary>The content-length field's value, or -1 when absent.</summary>
    public long ContentLength { get; internal set; }

    /// <summary>True for a 1xx response: more header sections follow.</summary>
    public bool IsInformational => Status is >= 100 and < 200;

    internal void Clear(HpackFieldList? source)
    {
        _source = source;
        _method = _scheme = _authority = _path = _protocol = -1;
        Status = 0;
        ContentLength = -1;
        Fields.Clear();
        if (source is not null) Fields.Bind(source.Buffer);
    }

    /// <summary>Records pseudo-header field <paramref name="index"/> of the decoded list; false when its name is a duplicate.</summary>
    internal bool SetPseudo(Http2PseudoHeader which, int index)
    {
        ref int slot = ref _method;
        switch (which)
        {
            case Http2PseudoHeader.Scheme: slot = ref _scheme; break;
            case Http2PseudoHeader.Authority: slot = ref _authority; break;
            case Http2PseudoHeader.Path: slot = ref _path; break;
            case Http2PseudoHeader.Protocol: slot = ref _protocol; break;
        }

        if (slot >= 0) return false;
        slot = index;
        return true;
    }

    internal bool Has(Http2PseudoHeader which) => which switch
    {
        Http2PseudoHeader.Method => _method >= 0,
        Http2PseudoHeader.Scheme => _scheme >= 0,
        Http2PseudoHeader.Authority => _authority >= 0,
        Http2PseudoHeader.Path => _path >= 0,
        _ => _protocol >= 0,
    };

    /// <summary>Adds regular field <paramref name="index"/> of the decoded list to <see cref="Fields"/>.</summary>
    internal void AddRegular(int index)
    {
        HpackFieldList source = _source!;
        int nameStart = source.GetNameStart(index);
        int nameLength = source.GetName(index).Length;
        Fields.Add(nameStart, nameLength, nameStart + nameLength, source.GetValue(index).Length);
    }

    private ReadOnlySpan<byte> ValueOf(int index) => index < 0 ? default : _source!.GetValue(index);
}

/// <summary>The request pseudo-header fields (RFC 9113 §8.3.1, RFC 8441 §4).</summary>
internal enum Http2PseudoHeader
{
    /// <summary>:method</summary>
    Method,

    /// <summary>:scheme</summary>
    Scheme,

    /// <summary>:authority</summary>
    Authority,

    /// <summary>:path</summary>
    Path,

    /// <summary>:protocol (extended CONNECT)</summary>
    Protocol,
}
