// How this file works: parses a head (start line + field lines + blank line, RFC 9112 §2.1) or a
// trailer section (field lines + blank line, §7.1.2) incrementally, one CRLF-terminated line at a
// time. The caller re-presents the unconsumed bytes on every call, so the parser remembers only
// the offset of the first line it has not checked yet. The unfinished last line is checked as a
// prefix, so garbage is rejected as soon as it arrives instead of after the blank line. Limits
// are checked before waiting for more bytes, so a head without an end cannot grow unbounded.
// Faults are reported in byte order (the first bad byte, the first byte past a limit, the first
// bad line ending), so the error is the same however the input is cut.
// Rules: CRLF only (a bare CR or LF is an error); leading blank lines before a request line are
// ignored (§2.2); a field line starting with whitespace is obs-fold and rejected (§5.2).
using System.Text;
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http;

internal enum HeadStatus { Incomplete, Complete, Error }

/// <summary>Incremental parser of a head or a trailer section into an <see cref="HttpHead"/>/<see cref="HttpHeaders"/>.</summary>
internal sealed class HeadParser
{
    private readonly bool _isRequest;
    private bool _hasStartLine;      // false for trailer sections, and until the start line is parsed
    private bool _needsStartLine;
    private int _nextLine;           // offset of the first line not yet parsed
    private int _maxBytes;
    private long _contentLength;     // -1 until a Content-Length field is seen

    public HeadParser(bool isRequest) => _isRequest = isRequest;

    /// <summary>Length of the head including the blank line, valid after <see cref="HeadStatus.Complete"/>.</summary>
    public int Length { get; private set; }

    public HttpError Error { get; private set; }

    /// <summary>Bytes of blank lines seen before the start line; the caller may consume them and restart.</summary>
    public int LeadingBlankBytes => _hasStartLine ? 0 : _nextLine;

    /// <summary>Prepares to parse a head (start line first).</summary>
    public void StartHead(HttpLimits limits)
    {
        (_hasStartLine, _needsStartLine, _nextLine, _maxBytes, Length, Error, _contentLength) = (false, true, 0, limits.MaxHeaderBytes, 0, HttpError.None, -1);
    }

    /// <summary>Prepares to parse a trailer section (field lines only).</summary>
    public void StartTrailers(HttpLimits limits)
    {
        (_hasStartLine, _needsStartLine, _nextLine, _maxBytes, Length, Error, _contentLength) = (true, false, 0, limits.MaxTrailerBytes, 0, HttpError.None, -1);
    }

    /// <summary>Parses as many complete lines of <paramref name="input"/> as possible.</summary>
    public HeadStatus Parse(ReadOnlySpan<byte> input, HttpHead? head, HttpHeaders fields, HttpLimits limits)
    {
        while (true)
        {
            ReadOnlySpan<byte> rest = input[_nextLine..];
            int lf = rest.IndexOf(LF);
            ReadOnlySpan<byte> raw = lf < 0 ? rest : rest[..lf];
            bool whole = IsWholeLine(raw, hasLf: lf >= 0, limits);
            if (!whole)
            {
                HttpError early = FirstError(raw, hasLf: lf >= 0, limits);
                if (early != HttpError.None) return Fail(early);
                if (lf < 0) return HeadStatus.Incomplete;
            }
            ReadOnlySpan<byte> line = raw[..^1]; // it ends with CRLF (IsWholeLine or FirstError said so)

            HttpError error;
            if (line.IsEmpty)
            {
                _nextLine += lf + 1;
                if (!_hasStartLine) continue; // §2.2: ignore blank lines before a start line (e.g. a stray CRLF after a body)
                Length = _nextLine;
                return HeadStatus.Complete;
            }
            error = _hasStartLine ? ParseFieldLine(line, _nextLine, fields, limits) : ParseStartLine(line, _nextLine, head!, limits);
            if (error != HttpError.None)
            {
                // A whole line was checked as a whole only: the error in byte order may be a CR inside
                // it (which the content checks refuse too, as another error) or come earlier.
                HttpError first = whole ? FirstError(raw, hasLf: true, limits) : HttpError.None;
                return Fail(first != HttpError.None ? first : error);
            }
            _nextLine += lf + 1;
            _hasStartLine = true;
        }
    }

    /// <summary>True when <paramref name="raw"/> is a whole line ending in CR (LF follows) within every
    /// limit: then a fault can only be in its content, or a CR inside it, which the whole-line checks of
    /// <see cref="ParseStartLine"/> and <see cref="ParseFieldLine"/> refuse as well (CR is neither a token,
    /// target, version nor field-value byte); only then is <see cref="FirstError"/> asked which fault comes
    /// first. The common case checks each line once instead of twice.</summary>
    private bool IsWholeLine(ReadOnlySpan<byte> raw, bool hasLf, HttpLimits limits) =>
        hasLf && !raw.IsEmpty && raw[^1] == CR
        && raw.Length + 1 <= _maxBytes - _nextLine
        && (_hasStartLine || raw.Length - 1 <= limits.MaxRequestLineLength);

    /// <summary>The first fault in the bytes of the current line received so far (<paramref name="raw"/>, up to
    /// but not including its LF), in byte order: a bad byte of content, the byte past a limit, or a bad line
    /// ending, whichever comes first. So the error does not depend on how the input was cut.</summary>
    private HttpError FirstError(ReadOnlySpan<byte> raw, bool hasLf, HttpLimits limits)
    {
        int cr = raw.IndexOf(CR);
        int contentEnd = cr < 0 ? raw.Length : cr;
        int present = raw.Length + (hasLf ? 1 : 0);
        int headLimitAt = _maxBytes - _nextLine;                   // index of the first byte past the head limit
        int lineLimitAt = _hasStartLine ? int.MaxValue : limits.MaxRequestLineLength; // first content byte too many
        HttpError content = CheckPrefix(raw[..Math.Min(contentEnd, Math.Min(headLimitAt, lineLimitAt))]);
        if (content != HttpError.None) return content;
        int limitAt = int.MaxValue;
        HttpError limitError = HttpError.None;
        if (lineLimitAt < contentEnd) (limitAt, limitError) = (lineLimitAt, _isRequest ? HttpError.RequestLineTooLong : HttpError.HeadersTooLarge);
        if (headLimitAt < present && headLimitAt < limitAt) (limitAt, limitError) = (headLimitAt, TooLarge());
        int badEndAt = cr >= 0 && cr < raw.Length - 1 ? cr + 1              // CR followed by something other than LF
                     : hasLf && (raw.IsEmpty || raw[^1] != CR) ? raw.Length // a bare LF
                     : int.MaxValue;
        if (limitAt <= badEndAt) return limitError;
        return HttpError.InvalidLineEnding;
    }

    /// <summary>Checks the content of a line as a prefix: only what can no longer become valid fails.</summary>
    private HttpError CheckPrefix(ReadOnlySpan<byte> content)
    {
        if (!_hasStartLine)
        {
            return _isRequest ? StartLineSyntax.CheckRequestLine(content, complete: false, out _, out _, out _)
                              : StartLineSyntax.CheckStatusLine(content, complete: false, out _, out _, out _);
        }
        return content.IsEmpty ? HttpError.None : CheckFieldLine(content, complete: false, out _, out _, out _);
    }

    private HttpError ParseStartLine(ReadOnlySpan<byte> line, int offset, HttpHead head, HttpLimits limits)
    {
        if (line.Length > limits.MaxRequestLineLength) return _isRequest ? HttpError.RequestLineTooLong : HttpError.HeadersTooLarge;
        if (_isRequest)
        {
            HttpError error = StartLineSyntax.CheckRequestLine(line, complete: true, out Range method, out Range target, out int minor);
            head.SetRequestLine(Shift(method, offset), Shift(target, offset), minor);
            return error;
        }
        else
        {
            HttpError error = StartLineSyntax.CheckStatusLine(line, complete: true, out int minor, out int status, out Range reason);
            head.SetStatusLine(minor, status, Shift(reason, offset));
            return error;
        }
    }

    private HttpError ParseFieldLine(ReadOnlySpan<byte> line, int offset, HttpHeaders fields, HttpLimits limits)
    {
        HttpError error = CheckFieldLine(line, complete: true, out int colon, out int valueStart, out int valueLength);
        if (error != HttpError.None) return error;
        if (fields.Count >= limits.MaxHeaderCount) return HttpError.TooManyHeaders;
        fields.Add(offset, colon, offset + valueStart, valueLength);
        // Content-Length is checked as soon as its line arrives, so a smuggling attempt fails without waiting for the blank line.
        if (_needsStartLine && colon == 14 && Ascii.EqualsIgnoreCase(line[..colon], "Content-Length"u8))
            return MessageFraming.AddContentLength(line.Slice(valueStart, valueLength), ref _contentLength);
        return HttpError.None;
    }

    /// <summary>field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). With <paramref name="complete"/>
    /// false, <paramref name="line"/> is a prefix and only what is present is checked.</summary>
    private static HttpError CheckFieldLine(ReadOnlySpan<byte> line, bool complete, out int colon, out int valueStart, out int valueLength)
    {
        (colon, valueStart, valueLength) = (0, 0, 0);
        if (IsWhitespace(line[0])) return HttpError.HeaderLineFolding; // obs-fold (§5.2), or whitespace after the start line (§2.2)
        // One scan finds the colon and checks the name: ':' is not a token byte, so the first byte that
        // is not one must be the colon; anything else before it is a bad name (also "name :", §5.1).
        colon = line.IndexOfAnyExcept(TokenChars);
        if (colon < 0) return complete ? HttpError.InvalidHeaderName : HttpError.None;
        if (line[colon] != Colon || colon == 0) return HttpError.InvalidHeaderName;
        ReadOnlySpan<byte> rawValue = line[(colon + 1)..];
        if (rawValue.ContainsAnyExcept(FieldValueChars)) return HttpError.InvalidHeaderValue;
        int start = 0, end = rawValue.Length; // the value without OWS at either end (RFC 9110 §5.6.3)
        while (start < end && IsWhitespace(rawValue[start])) start++;
        while (end > start && IsWhitespace(rawValue[end - 1])) end--;
        valueStart = start == end ? colon + 1 : colon + 1 + start;
        valueLength = end - start;
        return HttpError.None;
    }

    private HttpError TooLarge() => _needsStartLine ? HttpError.HeadersTooLarge : HttpError.TrailersTooLarge;

    private HeadStatus Fail(HttpError error)
    {
        Error = error;
        return HeadStatus.Error;
    }

    private static Range Shift(Range r, int offset) => new(r.Start.Value + offset, r.End.Value + offset);
}
