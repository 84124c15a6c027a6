// How this file works: an HTTP/2 request as the HttpHead that HTTP/1.1 handlers read (method, target,
// header fields, Content-Length), so that e.Request is the same HttpRequest on both versions. The
// request's bytes are copied into one buffer owned by the stream (reused: no allocation once warm):
// the method, the target (:path, or :authority for CONNECT), then every regular field, then a Host
// field made from :authority when the request has none (RFC 9113 §8.3.1: handlers look for Host),
// and the cookie fields joined into one (§8.2.3: HTTP/1.1 code expects a single Cookie line). The
// same builder takes the HTTP/1.1 request of an "Upgrade: h2c", which becomes stream 1 (RFC 7540
// §3.2), dropping the fields of the HTTP/1.1 connection.
using System.Numerics;
using System.Text;
using Meerkat.Http;

namespace Meerkat.Http2;

/// <summary>Builds the <see cref="HttpHead"/> of a request received on an HTTP/2 stream.</summary>
internal sealed class Http2RequestHead
{
    private byte[] _bytes = [];
    private int _length;

    /// <summary>The head handlers read through <see cref="HttpRequest"/>; valid until the next build.</summary>
    public HttpHead Head { get; } = new(isRequest: true);

    /// <summary>Builds the head of a request header section (validated by the connection core).</summary>
    /// <param name="section">The request's header section.</param>
    /// <param name="hasContent">END_STREAM was not set: DATA may follow.</param>
    public void Build(Http2HeaderSection section, bool hasContent)
    {
        HttpHeaders fields = section.Fields;
        ReadOnlySpan<byte> target = section.Path.IsEmpty ? section.Authority : section.Path;
        int size = section.Method.Length + target.Length + section.Authority.Length + "host".Length + CookieLength(fields);
        for (int i = 0; i < fields.Count; i++) size += fields.GetName(i).Length + fields.GetValue(i).Length;
        Start(size, section.Method, target);
        bool hasHost = false;
        for (int i = 0; i < fields.Count; i++)
        {
            ReadOnlySpan<byte> name = fields.GetName(i);
            if (name.SequenceEqual("cookie"u8)) continue;
            hasHost |= name.SequenceEqual("host"u8);
            AddField(name, fields.GetValue(i));
        }

        if (!hasHost && section.HasAuthority) AddField("host"u8, section.Authority);
        AddCookies(fields);
        Finish(section.ContentLength, hasContent);
    }

    /// <summary>Builds the head of the HTTP/1.1 request that asked for "Upgrade: h2c": it becomes stream 1.</summary>
    public void Build(HttpRequest request)
    {
        HttpHeaders fields = request.Headers;
        int size = request.Method.Length + request.Target.Length;
        for (int i = 0; i < fields.Count; i++) size += fields.GetName(i).Length + fields.GetValue(i).Length;
        Start(size, request.Method, request.Target);
        for (int i = 0; i < fields.Count; i++)
        {
            ReadOnlySpan<byte> name = fields.GetName(i);
            if (Http2FieldSyntax.IsConnectionSpecific(name) || Ascii.EqualsIgnoreCase(name, "http2-settings"u8) || Ascii.EqualsIgnoreCase(name, "te"u8)) continue;
            AddField(name, fields.GetValue(i));
        }

        Finish(request.ContentLength, request.HasBody);
    }

    private void Start(int size, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target)
    {
        if (_bytes.Length < size) _bytes = new byte[Math.Max(1024, (int)BitOperations.RoundUpToPowerOf2((uint)size))];
        Head.Reset();
        _length = 0;
        Range methodRange = Append(method);
        Range targetRange = Append(target);
        Head.SetRequestLine(methodRange, targetRange, minor: 0);
    }

    private void Finish(long contentLength, bool hasContent)
    {
        Head.ContentLength = contentLength;
        // HTTP/2 frames content itself; "Chunked" stands for a body of unknown length, as HttpRequest.HasBody reads it.
        Head.Framing = contentLength >= 0 ? HttpFraming.ContentLength : hasContent ? HttpFraming.Chunked : HttpFraming.None;
        Head.KeepAlive = true;
        Head.ExpectContinue = hasContent && Head.Headers.TryGetValue("expect"u8, out ReadOnlySpan<byte> expect) && Ascii.EqualsIgnoreCase(expect, "100-continue"u8);
        Head.Bind(_bytes.AsMemory(0, _length));
    }

    private void AddField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int nameStart = _length;
        Append(name);
        int valueStart = _length;
        Append(value);
        Head.Headers.Add(nameStart, name.Length, valueStart, value.Length);
    }

    /// <summary>§8.2.3: the cookie fields, split for compression, joined again with "; ".</summary>
    private void AddCookies(HttpHeaders fields)
    {
        int valueStart = -1;
        for (int i = 0; i < fields.Count; i++)
        {
            if (!fields.GetName(i).SequenceEqual("cookie"u8)) continue;
            if (valueStart < 0)
            {
                Append("cookie"u8);
                valueStart = _length;
            }
            else
            {
                Append("; "u8);
            }

            Append(fields.GetValue(i));
        }

        if (valueStart >= 0) Head.Headers.Add(valueStart - "cookie".Length, "cookie".Length, valueStart, _length - valueStart);
    }

    private static int CookieLength(HttpHeaders fields)
    {
        int length = 0;
        for (int i = 0; i < fields.Count; i++)
        {
            if (fields.GetName(i).SequenceEqual("cookie"u8)) length += fields.GetValue(i).Length + 2;
        }

        return length;
    }

    private Range Append(ReadOnlySpan<byte> bytes)
    {
        int start = _length;
        bytes.CopyTo(_bytes.AsSpan(_length));
        _length += bytes.Length;
        return new Range(start, _length);
    }
}
