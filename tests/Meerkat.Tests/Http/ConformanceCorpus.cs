// Loads Http/Conformance/http1-parser-cases.json (llhttp + http-parser cases, carried in the
// repository with their licences in Http/Conformance/NOTICE and copied next to the test assembly),
// and turns each case's expectation into a Transcript to compare.
using System.Text;
using System.Text.Json;

using Xunit;

namespace Meerkat.Tests.Http;

/// <param name="SkipBody">llhttp's harness told the parser to skip the body (on_headers_complete returned 1): for
/// responses that is our "answer to HEAD" (SetRequestMethod); requests have no equivalent.</param>
public sealed record ConformanceCase(string Id, bool IsRequest, byte[] Raw, string Outcome, bool CompleteOnEof,
                                     bool SkipBody, Transcript Expected, string? SkipReason)
{
    public Transcript Run(IEnumerable<byte[]> pieces) => ReaderDriver.Run(IsRequest, pieces, CompleteOnEof, responsesToHead: SkipBody && !IsRequest);

    public Transcript RunWhole() => Run([Raw]);
}

internal static class ConformanceCorpus
{
    public const string FileName = "http1-parser-cases.json";

    /// <summary>Cases we deliberately disagree with, and why (also listed in docs/http-parser.md).</summary>
    public static readonly Dictionary<string, string> Deviations = new()
    {
        // Obsolete line folding: RFC 9112 §5.2 lets a server reject it with 400; we always do (strict).
        ["http-parser:test.c:requests[21]"] = "obs-fold (a header line starting with whitespace) is rejected with 400 (RFC 9112 §5.2).",
        ["http-parser:test.c:requests[35]"] = "obs-fold in Connection is rejected with 400 (RFC 9112 §5.2).",
        ["http-parser:test.c:requests[37]"] = "obs-fold in Connection is rejected with 400 (RFC 9112 §5.2).",
        ["http-parser:test.c:requests[45]"] = "obs-fold is rejected with 400 (RFC 9112 §5.2).",
        ["http-parser:test.c:4424"] = "obs-fold (' \\r\\n' continuation) is rejected with 400 (RFC 9112 §5.2).",
        // Bare LF line endings: accepted only by lenient parsers; RFC 9112 §2.2 "MAY" — we do not.
        ["http-parser:test.c:requests[34]"] = "bare LF line endings and obs-fold are rejected (strict RFC 9112 §2.2, §5.2).",
        ["http-parser:test.c:responses[5]"] = "bare LF line endings are rejected (strict RFC 9112 §2.2).",
        // Versions other than HTTP/1.0 and HTTP/1.1.
        ["llhttp:test/request/sample.md:314"] = "HTTP/0.9 request line (no version) is rejected with 400.",
        ["http-parser:test.c:requests[19]"] = "HTTP/0.9 request line (no version) is rejected with 400.",
        ["llhttp:test/response/sample.md:645"] = "HTTP/0.9 status line is rejected (only HTTP/1.0 and 1.1).",
        ["llhttp:test/request/invalid.md:490"] = "'HTTP/5.6' with nothing after it: a major version other than 1 is judged when the version ends (505), so that 'HTTP/2.0x' is malformed (400) however the input is cut; llhttp fails at once.",
        ["http-parser:test.c:responses[11]"] = "HTTP/0.9 status line is rejected (only HTTP/1.0 and 1.1).",
        ["http-parser:test.c:requests[43]"] = "ICE/1.0 (SHOUTcast) is not HTTP; rejected as an invalid version.",
        // Request-target forms (RFC 9112 §3.2.4): asterisk-form only with OPTIONS.
        ["llhttp:test/request/method.md:135"] = "'M-SEARCH *': asterisk-form is only for OPTIONS (RFC 9112 §3.2.4); SSDP is UDP anyway.",
        ["http-parser:test.c:requests[20]"] = "'M-SEARCH *': asterisk-form is only for OPTIONS (RFC 9112 §3.2.4).",
        // Methods: any token (RFC 9110 §9.1); llhttp uses a whitelist.
        ["llhttp:test/request/invalid.md:356"] = "'MKCOLA' is a valid token method (RFC 9110 §9.1); rejecting unknown methods (501) is the application's call.",
        // Proxy-Connection is not a standard field (RFC 9110 §7.6.1 defines Connection only).
        ["llhttp:test/response/connection.md:4"] = "Proxy-Connection is non-standard and ignored; the response stays keep-alive.",
        ["http-parser:test.c:responses[6]"] = "Proxy-Connection is non-standard and ignored; the response stays keep-alive.",
        // The two sources disagree; we follow llhttp and the RFC.
        ["http-parser:test.c:responses[4]"] = "'25  \\r\\n': whitespace after a chunk size without ';' is not chunk-ext BWS (RFC 9112 §7.1); llhttp's copy of this case expects an error.",
        ["http-parser:test.c:responses[24]"] = "101 responses have no content (RFC 9112 §6.3 rule 1); llhttp agrees (connection.md:293).",
        ["http-parser:test.c:responses[25]"] = "101 responses have no content (RFC 9112 §6.3 rule 1); llhttp agrees (connection.md:331).",
        ["http-parser:test.c:responses[26]"] = "only 101 switches protocols (RFC 9110 §7.8); llhttp agrees (connection.md:374).",
        ["http-parser:test.c:responses[27]"] = "only 101 switches protocols (RFC 9110 §7.8).",
        ["http-parser:test.c:responses[28]"] = "only 101 switches protocols (RFC 9110 §7.8).",
        // Conversion artifacts.
        ["http-parser:test.c:requests[29]"] = "converted as an upgrade (test.c's `.upgrade = 0`); the case checks the CRLF after the body is eaten, which we do (outcome complete).",
        ["http-parser:test.c:requests[30]"] = "converted as an upgrade (test.c's `.upgrade = 0`); the case checks the CRLF after the body is eaten, which we do.",
        ["llhttp:test/request/content-length.md:444"] = "the harness skips the body from on_headers_complete; a request reader has no such knob (a request body is always framed by its own fields).",
    };

    private static readonly Lazy<IReadOnlyList<ConformanceCase>?> s_cases = new(Load);

    /// <summary>The runnable cases (empty lenient_flags, not llhttp_specific), or null when the corpus is absent.</summary>
    public static IReadOnlyList<ConformanceCase>? Cases => s_cases.Value;

    public static int TotalInFile { get; private set; }

    /// <summary>The corpus beside the test assembly (the project copies it there), or in the source tree.</summary>
    public static string? FindFile()
    {
        // A worktree outside the usual layout can point at the corpus directory.
        if (Environment.GetEnvironmentVariable("MEERKAT_CONFORMANCE_DIR") is { Length: > 0 } corpusDir && File.Exists(Path.Combine(corpusDir, FileName)))
            return Path.Combine(corpusDir, FileName);
        string beside = Path.Combine(AppContext.BaseDirectory, "Http", "Conformance", FileName);
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "tests", "Meerkat.Tests", "Http", "Conformance", FileName);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Skips the calling test when the corpus is absent (fails under CI=true).</summary>
    public static IReadOnlyList<ConformanceCase> RequireCases()
    {
        if (Cases is { } cases) return cases;
        string message = $"Conformance corpus tests/Meerkat.Tests/Http/Conformance/{FileName} not found.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)) Assert.Fail(message);
        Assert.Skip(message);
        return [];
    }

    public static ConformanceCase Get(string id) => RequireCases().First(c => c.Id == id);

    private static IReadOnlyList<ConformanceCase>? Load()
    {
        string? path = FindFile();
        if (path is null) return null;
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var result = new List<ConformanceCase>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            TotalInFile++;
            if (c.GetProperty("lenient_flags").GetArrayLength() > 0 || c.GetProperty("llhttp_specific").GetBoolean()) continue;
            if (c.GetProperty("raw").ValueKind != JsonValueKind.String) continue;
            result.Add(ToCase(c));
        }
        return result;
    }

    private static ConformanceCase ToCase(JsonElement c)
    {
        string id = c.GetProperty("id").GetString()!;
        JsonElement expect = c.GetProperty("expect");
        string outcome = expect.GetProperty("outcome").GetString()!;
        bool onEof = expect.TryGetProperty("complete_on_eof", out JsonElement e) && e.ValueKind == JsonValueKind.True;
        var transcript = new Transcript { Outcome = outcome == "ok-prefix" ? null : outcome };
        if (expect.TryGetProperty("messages", out JsonElement messages))
            foreach (JsonElement m in messages.EnumerateArray()) transcript.Messages.Add(ToMessage(m));
        if (expect.TryGetProperty("upgrade_data", out JsonElement up) && up.ValueKind == JsonValueKind.String)
            transcript.UpgradeData = up.GetString();
        bool skipBody = c.GetProperty("notes").EnumerateArray().Any(n => n.GetString()!.Contains("(skip body)", StringComparison.Ordinal));
        return new ConformanceCase(id, c.GetProperty("kind").GetString() == "request",
            Convert.FromBase64String(c.GetProperty("raw_b64").GetString()!), outcome, onEof, skipBody, transcript,
            Deviations.GetValueOrDefault(id));
    }

    private static TranscriptMessage ToMessage(JsonElement m)
    {
        var msg = new TranscriptMessage
        {
            Complete = Bool(m, "complete") ?? false,
            KeepAlive = Bool(m, "keep_alive"),
            Upgrade = Bool(m, "upgrade"),
            Body = Str(m, "body") ?? "",
        };
        bool headSeen = (Bool(m, "headers_complete") ?? false) || msg.Complete;
        if (!headSeen) return msg;
        msg.HeadSeen = true;
        msg.Method = Str(m, "method");
        msg.Url = Str(m, "url");
        msg.Version = Str(m, "version");
        msg.Status = m.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : 0;
        msg.Reason = Str(m, "reason");
        if (m.TryGetProperty("headers", out JsonElement headers))
            foreach (JsonElement h in headers.EnumerateArray()) msg.Headers.Add($"{h[0].GetString()}: {h[1].GetString()}");
        return msg;
    }

    private static string? Str(JsonElement m, string name) =>
        m.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Bool(JsonElement m, string name) =>
        m.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    public static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
