// How this file works: the ONE place that decides how a message's body is delimited, following
// RFC 9112 §6.3 rule by rule, and derives the other connection facts (keep-alive, upgrade,
// expect-continue) from the same single pass over the header fields.
//
// Decisions recorded here (see docs/http-parser.md):
// - Repeated Content-Length fields with the same value are accepted (RFC 9110 §8.6 allows it);
//   differing values are DuplicateContentLength. A list inside one field ("5, 5") is rejected.
// - Content-Length together with Transfer-Encoding is rejected for requests AND responses
//   (§6.3 rule 3 says it "ought to be handled as an error").
// - Only 101 (and a 2xx answer to CONNECT) switches a response's protocol (RFC 9110 §7.8, §9.3.6).
using System.Text;
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http;

/// <summary>What a response reader knows about the request being answered.</summary>
internal readonly record struct RequestContext(bool WasHead, bool WasConnect);

/// <summary>Body framing and connection facts, RFC 9112 §6.3.</summary>
internal static class MessageFraming
{
    private ref struct FieldFacts
    {
        public long ContentLength;   // -1: absent
        public bool HasTransferEncoding, SawChunked, ChunkedLast, ChunkedTwice, UnknownCoding, EmptyCoding;
        public bool ConnectionClose, ConnectionKeepAlive, ConnectionUpgrade;
        public int UpgradeIndex;     // -1: absent
        public bool ExpectContinue;
        public int HostCount, HostIndex;
    }

    /// <summary>Fills the derived facts of <paramref name="head"/> (already bound to its buffer).</summary>
    public static HttpError Decide(HttpHead head, RequestContext request, HttpLimits limits)
    {
        var facts = new FieldFacts { ContentLength = -1, UpgradeIndex = -1 };
        HttpError error = Collect(head.Headers, ref facts);
        if (error != HttpError.None) return error;

        head.ContentLength = facts.ContentLength;
        head.HostFields = (facts.HostCount, facts.HostIndex);
        head.ExpectContinue = head.IsRequest && head.VersionMinor == 1 && facts.ExpectContinue;
        if (facts.UpgradeIndex >= 0) head.SetUpgradeProtocol(head.Headers.ValueRange(facts.UpgradeIndex));
        head.IsUpgrade = IsUpgrade(head, request, in facts);

        error = head.IsRequest ? ChooseRequestFraming(head, in facts) : ChooseResponseFraming(head, request, in facts);
        if (error != HttpError.None) return error;
        if (head.Framing == HttpFraming.ContentLength && head.ContentLength > limits.MaxBodySize) return HttpError.BodyTooLarge;

        // RFC 9112 §9.3: persistence from the version and the Connection options; an until-close body ends the connection.
        bool persistent = head.VersionMinor == 1 ? !facts.ConnectionClose : facts.ConnectionKeepAlive && !facts.ConnectionClose;
        head.KeepAlive = persistent && head.Framing != HttpFraming.UntilClose;
        return HttpError.None;
    }

    private static HttpError ChooseRequestFraming(HttpHead head, in FieldFacts facts)
    {
        if (head.IsMethod("CONNECT"u8)) return Framing(head, HttpFraming.None); // RFC 9110 §9.3.6: no content
        if (facts.HasTransferEncoding)
        {
            if (facts.ContentLength >= 0) return HttpError.ContentLengthWithTransferEncoding;  // rule 3
            if (facts.UnknownCoding) return HttpError.UnknownTransferCoding;                   // RFC 9112 §6.1: 501
            if (!facts.ChunkedLast || facts.ChunkedTwice || facts.EmptyCoding) return HttpError.TransferEncodingNotChunkedLast; // rule 4
            return Framing(head, HttpFraming.Chunked);
        }
        if (facts.ContentLength >= 0) return Framing(head, HttpFraming.ContentLength);       // rule 6
        return Framing(head, HttpFraming.None);                                              // rule 7
    }

    private static HttpError ChooseResponseFraming(HttpHead head, RequestContext request, in FieldFacts facts)
    {
        int status = head.StatusCode;
        // Rule 1: HEAD responses, 1xx, 204 and 304 never have content. Rule 2: 2xx to CONNECT is a tunnel.
        if (request.WasHead || status < 200 || status == 204 || status == 304) return Framing(head, HttpFraming.None);
        if (request.WasConnect && status < 300) return Framing(head, HttpFraming.None);
        if (facts.HasTransferEncoding)
        {
            if (facts.ContentLength >= 0) return HttpError.ContentLengthWithTransferEncoding; // rule 3
            bool chunked = facts.ChunkedLast && !facts.ChunkedTwice && !facts.EmptyCoding;
            return Framing(head, chunked ? HttpFraming.Chunked : HttpFraming.UntilClose);    // rule 4
        }
        if (facts.ContentLength >= 0) return Framing(head, HttpFraming.ContentLength);       // rule 6
        return Framing(head, HttpFraming.UntilClose);                                        // rule 8
    }

    private static bool IsUpgrade(HttpHead head, RequestContext request, in FieldFacts facts)
    {
        if (!head.IsRequest) return head.StatusCode == 101 || (request.WasConnect && head.StatusCode is >= 200 and < 300);
        return head.IsMethod("CONNECT"u8) || (facts.ConnectionUpgrade && facts.UpgradeIndex >= 0);
    }

    private static HttpError Framing(HttpHead head, HttpFraming framing)
    {
        head.Framing = framing;
        return HttpError.None;
    }

    private static HttpError Collect(HttpHeaders headers, ref FieldFacts facts)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.GetName(i);
            switch (name.Length) // most fields match none of these: one comparison of lengths rules them out
            {
                case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                    (facts.HostCount, facts.HostIndex) = (facts.HostCount + 1, i);
                    break;
                case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                    HttpError error = AddContentLength(headers.GetValue(i), ref facts.ContentLength);
                    if (error != HttpError.None) return error;
                    break;
                case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                    AddTransferCodings(headers.GetValue(i), ref facts);
                    break;
                case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                    AddConnectionOptions(headers.GetValue(i), ref facts);
                    break;
                case 7 when Ascii.EqualsIgnoreCase(name, "Upgrade"u8):
                    facts.UpgradeIndex = facts.UpgradeIndex < 0 ? i : facts.UpgradeIndex;
                    break;
                case 6 when Ascii.EqualsIgnoreCase(name, "Expect"u8):
                    facts.ExpectContinue |= Ascii.EqualsIgnoreCase(headers.GetValue(i), "100-continue"u8);
                    break;
            }
        }
        return HttpError.None;
    }

    /// <summary>Content-Length = 1*DIGIT (RFC 9110 §8.6), fitting in a long; a repeated field must repeat the value.</summary>
    public static HttpError AddContentLength(ReadOnlySpan<byte> value, ref long contentLength)
    {
        if (value.IsEmpty) return HttpError.InvalidContentLength;
        long length = 0;
        foreach (byte b in value)
        {
            if (!IsDigit(b) || length > (long.MaxValue - 9) / 10) return HttpError.InvalidContentLength;
            length = length * 10 + (b - '0');
        }
        if (contentLength >= 0 && contentLength != length) return HttpError.DuplicateContentLength;
        contentLength = length;
        return HttpError.None;
    }

    /// <summary>Transfer-Encoding = #transfer-coding (RFC 9112 §6.1); every field adds to one list.</summary>
    private static void AddTransferCodings(ReadOnlySpan<byte> value, ref FieldFacts facts)
    {
        facts.HasTransferEncoding = true;
        if (value.IsEmpty) facts.EmptyCoding = true;
        foreach (Range r in value.Split(Comma))
        {
            ReadOnlySpan<byte> coding = value[r];
            int semicolon = coding.IndexOf(Semicolon);
            coding = TrimWhitespace(semicolon < 0 ? coding : coding[..semicolon]);
            if (coding.IsEmpty) continue; // empty list elements are ignored (RFC 9110 §5.6.1)
            bool chunked = Ascii.EqualsIgnoreCase(coding, "chunked"u8);
            facts.ChunkedTwice |= chunked && facts.SawChunked; // chunked is applied at most once (§6.1)
            facts.SawChunked |= chunked;
            facts.ChunkedLast = chunked;
            facts.UnknownCoding |= !chunked && !IsKnownCoding(coding);
        }
    }

    private static bool IsKnownCoding(ReadOnlySpan<byte> coding) =>
        Ascii.EqualsIgnoreCase(coding, "gzip"u8) || Ascii.EqualsIgnoreCase(coding, "x-gzip"u8) ||
        Ascii.EqualsIgnoreCase(coding, "deflate"u8) || Ascii.EqualsIgnoreCase(coding, "compress"u8) ||
        Ascii.EqualsIgnoreCase(coding, "x-compress"u8);

    /// <summary>Connection = #connection-option (RFC 9110 §7.6.1).</summary>
    private static void AddConnectionOptions(ReadOnlySpan<byte> value, ref FieldFacts facts)
    {
        foreach (Range r in value.Split(Comma))
        {
            ReadOnlySpan<byte> option = TrimWhitespace(value[r]);
            facts.ConnectionClose |= Ascii.EqualsIgnoreCase(option, "close"u8);
            facts.ConnectionKeepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
            facts.ConnectionUpgrade |= Ascii.EqualsIgnoreCase(option, "upgrade"u8);
        }
    }
}
