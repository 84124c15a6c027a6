// How this file works: checks a request line (RFC 9112 §3) or a status line (§4) and returns the
// ranges of its parts. Each check also works on a prefix of the line (complete: false): it then
// rejects only what can no longer become valid, so a reader can fail fast on garbage.
using static Meerkat.Http.HttpSyntax;

namespace Meerkat.Http;

/// <summary>Syntax of the HTTP/1.1 start lines.</summary>
internal static class StartLineSyntax
{
    private const int VersionLength = 8; // "HTTP/1.1"
    private const int StatusCodeLength = 3;

    /// <summary>request-line = method SP request-target SP HTTP-version (RFC 9112 §3).</summary>
    public static HttpError CheckRequestLine(ReadOnlySpan<byte> line, bool complete, out Range method, out Range target, out int minor)
    {
        (method, target, minor) = (default, default, 0);
        int sp1 = line.IndexOf(SP);
        ReadOnlySpan<byte> methodBytes = sp1 < 0 ? line : line[..sp1];
        if (methodBytes.ContainsAnyExcept(TokenChars)) return HttpError.InvalidMethod;
        if (sp1 < 0) return complete ? HttpError.InvalidRequestLine : HttpError.None;
        if (sp1 == 0) return HttpError.InvalidMethod;
        method = ..sp1;

        ReadOnlySpan<byte> rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf(SP);
        ReadOnlySpan<byte> targetBytes = sp2 < 0 ? rest : rest[..sp2];
        if (targetBytes.ContainsAnyExcept(TargetChars)) return HttpError.InvalidTarget;
        if (sp2 < 0) return complete ? HttpError.InvalidRequestLine : HttpError.None;
        if (sp2 == 0) return HttpError.InvalidRequestLine; // two spaces in a row
        target = new Range(sp1 + 1, sp1 + 1 + sp2);
        HttpError formError = CheckTargetForm(line[method], targetBytes);
        if (formError != HttpError.None) return formError;

        return CheckVersion(rest[(sp2 + 1)..], complete, out minor);
    }

    /// <summary>status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). A missing
    /// "SP reason" after the code is accepted, as most clients do.</summary>
    public static HttpError CheckStatusLine(ReadOnlySpan<byte> line, bool complete, out int minor, out int status, out Range reason)
    {
        (minor, status, reason) = (0, 0, default);
        int sp = line.IndexOf(SP);
        HttpError error = CheckVersion(sp < 0 ? line : line[..sp], complete || sp >= 0, out minor);
        if (error != HttpError.None) return error;
        if (sp < 0) return complete ? HttpError.InvalidStatusLine : HttpError.None;

        ReadOnlySpan<byte> rest = line[(sp + 1)..];
        int digits = 0;
        while (digits < rest.Length && digits < StatusCodeLength && IsDigit(rest[digits])) status = status * 10 + rest[digits++] - '0';
        if (digits < rest.Length && digits < StatusCodeLength) return HttpError.InvalidStatusLine; // a non-digit inside the code
        if (digits < StatusCodeLength) return complete ? HttpError.InvalidStatusLine : HttpError.None;
        if (status < 100) return HttpError.InvalidStatusLine;
        if (rest.Length == StatusCodeLength)
        {
            reason = new Range(line.Length, line.Length);
            return HttpError.None;
        }
        if (rest[StatusCodeLength] != SP) return HttpError.InvalidStatusLine;
        ReadOnlySpan<byte> reasonBytes = rest[(StatusCodeLength + 1)..];
        if (reasonBytes.ContainsAnyExcept(FieldValueChars)) return HttpError.InvalidStatusLine; // HTAB / SP / VCHAR / obs-text
        reason = new Range(line.Length - reasonBytes.Length, line.Length);
        return HttpError.None;
    }

    /// <summary>HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3). Major version 1 only; HTTP/1.2 and
    /// above read as 1.1 (RFC 9110 §2.5, §6.2).</summary>
    private static HttpError CheckVersion(ReadOnlySpan<byte> version, bool complete, out int minor)
    {
        minor = 0;
        ReadOnlySpan<byte> prefix = "HTTP/"u8;
        // Byte by byte, so the verdict is the same however the line was cut: the major digit decides
        // "unsupported" (505) as soon as it arrives, whatever follows it.
        for (int i = 0; i < version.Length && i < VersionLength; i++)
        {
            bool ok = i < prefix.Length ? version[i] == prefix[i] : i == 6 ? version[i] == Dot : IsDigit(version[i]);
            if (!ok) return HttpError.InvalidVersion;
            if (i == 5 && version[i] != '1') return HttpError.UnsupportedVersion;
        }
        if (version.Length > VersionLength) return HttpError.InvalidVersion;
        if (version.Length < VersionLength) return complete ? HttpError.InvalidVersion : HttpError.None;
        minor = Math.Min(version[7] - '0', 1); // RFC 9110 §6.2: a higher minor is processed as the highest we implement
        return HttpError.None;
    }

    /// <summary>request-target forms (RFC 9112 §3.2): authority-form only and always for CONNECT,
    /// asterisk-form only for OPTIONS, otherwise origin-form or absolute-form.</summary>
    private static HttpError CheckTargetForm(ReadOnlySpan<byte> method, ReadOnlySpan<byte> target)
    {
        if (method.SequenceEqual("CONNECT"u8))
            return target[0] != Slash && target.Contains(Colon) && !target.Contains(Slash) ? HttpError.None : HttpError.InvalidTarget;
        if (target[0] == Slash) return HttpError.None;
        if (target.Length == 1 && target[0] == Asterisk) return method.SequenceEqual("OPTIONS"u8) ? HttpError.None : HttpError.InvalidTarget;
        return IsAbsoluteForm(target) ? HttpError.None : HttpError.InvalidTarget;
    }

    /// <summary>absolute-URI starts with scheme ":" where scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).</summary>
    private static bool IsAbsoluteForm(ReadOnlySpan<byte> target)
    {
        if (!char.IsAsciiLetter((char)target[0])) return false;
        for (int i = 1; i < target.Length; i++)
        {
            byte b = target[i];
            if (b == Colon) return true;
            if (!char.IsAsciiLetterOrDigit((char)b) && b != '+' && b != '-' && b != Dot) return false;
        }
        return false;
    }
}
