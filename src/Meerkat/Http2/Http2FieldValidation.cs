// How this file works: decides whether a decoded field section is a well-formed request,
// response or trailer section (RFC 9113 §8.1.1, §8.2, §8.3) and fills an Http2HeaderSection.
// Each check returns a short reason; a malformed message is a stream error of type
// PROTOCOL_ERROR (§8.1.1), and the reason goes to the application's log, not to the peer.
//   all sections   pseudo-header fields first, each at most once, only the defined ones;
//                  names and values per Http2FieldSyntax; no connection-specific fields;
//                  TE only "trailers"; one content-length (repeats must agree)
//   requests       :method; CONNECT has :authority and no :scheme or :path, unless it is an
//                  extended CONNECT (:protocol, RFC 8441) which has all four; any other method
//                  has :scheme and a non-empty :path ("/..." for http and https, or "*" for
//                  OPTIONS); no userinfo in :authority; Host, if present, agrees with :authority
//   responses      :status only, three digits, 100-599, never 101 (§8.6)
//   trailers       no pseudo-header fields (§8.1)
using System.Text;
using Meerkat.Http2.Hpack;

namespace Meerkat.Http2;

/// <summary>Validation of received field sections.</summary>
internal static class Http2FieldValidation
{
    private enum SectionKind
    {
        Request,
        Response,
        Trailers,
    }

    /// <summary>Validates a request header section; null when well-formed, else why not.</summary>
    public static string? ValidateRequest(HpackFieldList list, Http2HeaderSection section, bool allowsExtendedConnect)
    {
        string? error = ReadFields(list, section, SectionKind.Request, allowsExtendedConnect);
        if (error is not null) return error;
        if (!section.Has(Http2PseudoHeader.Method)) return "request without :method";
        bool isConnect = section.Method.SequenceEqual("CONNECT"u8);
        if (section.Has(Http2PseudoHeader.Protocol))
        {
            if (!isConnect) return ":protocol on a request other than CONNECT";
        }
        else if (isConnect)
        {
            if (section.Has(Http2PseudoHeader.Scheme) || section.Has(Http2PseudoHeader.Path)) return ":scheme or :path on a CONNECT request";
            return section.Authority.IsEmpty ? "CONNECT request without :authority" : null;
        }

        if (!section.Has(Http2PseudoHeader.Scheme)) return "request without :scheme";
        if (section.Path.IsEmpty) return "request without :path, or with an empty one";
        bool isHttp = section.Scheme.SequenceEqual("http"u8) || section.Scheme.SequenceEqual("https"u8);
        if (isHttp && section.Path[0] != (byte)'/' && !(section.Path.SequenceEqual("*"u8) && section.Method.SequenceEqual("OPTIONS"u8)))
            return ":path neither absolute (\"/...\") nor \"*\" for OPTIONS";
        if (isHttp && section.Authority.Contains((byte)'@')) return "userinfo in :authority";
        if (section.HasAuthority && section.Fields.TryGetValue("host"u8, out ReadOnlySpan<byte> host) && !Ascii.EqualsIgnoreCase(host, section.Authority))
            return "Host differs from :authority";
        return null;
    }

    /// <summary>Validates a response header section; null when well-formed, else why not.</summary>
    public static string? ValidateResponse(HpackFieldList list, Http2HeaderSection section)
    {
        string? error = ReadFields(list, section, SectionKind.Response, false);
        if (error is not null) return error;
        return section.Status == 0 ? "response without :status" : null;
    }

    /// <summary>Validates a trailer section; null when well-formed, else why not.</summary>
    public static string? ValidateTrailers(HpackFieldList list, Http2HeaderSection section) =>
        ReadFields(list, section, SectionKind.Trailers, false);

    private static string? ReadFields(HpackFieldList list, Http2HeaderSection section, SectionKind kind, bool allowsExtendedConnect)
    {
        section.Clear(list);
        bool isPastPseudo = false;
        for (int i = 0; i < list.Count; i++)
        {
            ReadOnlySpan<byte> name = list.GetName(i);
            ReadOnlySpan<byte> value = list.GetValue(i);
            if (!Http2FieldSyntax.IsValidValue(value)) return "field value with NUL, CR or LF, or leading or trailing whitespace";
            string? error = !name.IsEmpty && name[0] == (byte)':'
                ? (isPastPseudo ? "pseudo-header field after a regular field" : ReadPseudo(name, value, i, section, kind, allowsExtendedConnect))
                : ReadRegular(name, value, i, section);
            if (error is not null) return error;
            isPastPseudo |= name.IsEmpty || name[0] != (byte)':';
        }

        return null;
    }

    private static string? ReadPseudo(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int index, Http2HeaderSection section, SectionKind kind, bool allowsExtendedConnect)
    {
        switch (kind)
        {
            case SectionKind.Trailers:
                return "pseudo-header field in trailers";
            case SectionKind.Response:
                if (!name.SequenceEqual(":status"u8)) return "pseudo-header field other than :status in a response";
                if (section.Status != 0) return "duplicate :status";
                int status = ParseStatus(value);
                if (status is < 100 or > 599 or 101) return ":status not a three-digit code from 100 to 599 (101 is not allowed in HTTP/2)";
                section.Status = status;
                return null;
        }

        Http2PseudoHeader? which = name switch
        {
            _ when name.SequenceEqual(":method"u8) => Http2PseudoHeader.Method,
            _ when name.SequenceEqual(":scheme"u8) => Http2PseudoHeader.Scheme,
            _ when name.SequenceEqual(":authority"u8) => Http2PseudoHeader.Authority,
            _ when name.SequenceEqual(":path"u8) => Http2PseudoHeader.Path,
            _ when name.SequenceEqual(":protocol"u8) && allowsExtendedConnect => Http2PseudoHeader.Protocol,
            _ => null,
        };
        if (which is null) return "unknown pseudo-header field in a request";
        if (which == Http2PseudoHeader.Method && !IsToken(value)) return ":method not a token";
        return section.SetPseudo(which.Value, index) ? null : "duplicate pseudo-header field";
    }

    private static string? ReadRegular(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int index, Http2HeaderSection section)
    {
        if (!Http2FieldSyntax.IsValidName(name))
            return name.ContainsAnyInRange((byte)'A', (byte)'Z') ? "uppercase field name" : "invalid field name";
        if (Http2FieldSyntax.IsConnectionSpecific(name)) return "connection-specific field";
        if (name.SequenceEqual("te"u8) && !Http2FieldSyntax.IsAllowedTe(value)) return "TE with a value other than \"trailers\"";
        if (name.SequenceEqual("content-length"u8))
        {
            long length = Http2FieldSyntax.ParseContentLength(value);
            if (length < 0) return "invalid content-length";
            if (section.ContentLength >= 0 && section.ContentLength != length) return "conflicting content-length fields";
            section.ContentLength = length;
        }

        section.AddRegular(index);
        return null;
    }

    private static int ParseStatus(ReadOnlySpan<byte> value)
    {
        if (value.Length != 3) return 0;
        int status = 0;
        foreach (byte c in value)
        {
            if (c is < (byte)'0' or > (byte)'9') return 0;
            status = status * 10 + (c - '0');
        }

        return status;
    }

    /// <summary>RFC 9110 §5.6.2 token.</summary>
    private static bool IsToken(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty) return false;
        foreach (byte c in value)
        {
            if (!(char.IsAsciiLetterOrDigit((char)c) || "!#$%&'*+-.^_`|~"u8.Contains(c))) return false;
        }

        return true;
    }
}
