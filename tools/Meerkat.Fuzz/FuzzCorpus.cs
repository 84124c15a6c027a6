// How this file works: loads the seed messages from tests/Meerkat.Tests/Http/Conformance/
// http1-parser-cases.json (llhttp and http-parser cases, carried in the repository with their
// licences in NOTICE there), found under the directory holding Meerkat.slnx unless a path is
// given; a handful of built-in requests stand in when the file is missing.
using System.Text.Json;

namespace Meerkat.Fuzz;

public sealed class FuzzCorpus
{
    public const string FileName = "http1-parser-cases.json";

    private FuzzCorpus(List<byte[]> requests, List<byte[]> responses, string? path) => (Requests, Responses, Path) = (requests, responses, path);

    /// <summary>The corpus file the seeds came from, or null when the built-in requests stand in.</summary>
    public string? Path { get; }

    public IReadOnlyList<byte[]> Requests { get; }

    public IReadOnlyList<byte[]> Responses { get; }

    public static FuzzCorpus Load(string? path = null)
    {
        path ??= Find();
        List<byte[]> requests = [], responses = [];
        if (path is not null && !File.Exists(path)) path = null;
        if (path is not null)
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var item in document.RootElement.GetProperty("cases").EnumerateArray())
            {
                byte[] raw = Convert.FromBase64String(item.GetProperty("raw_b64").GetString()!);
                (item.GetProperty("kind").GetString() == "request" ? requests : responses).Add(raw);
            }
        }
        if (requests.Count == 0)
        {
            path = null;
            requests.AddRange(BuiltIn.Select(text => System.Text.Encoding.Latin1.GetBytes(text)));
        }
        return new FuzzCorpus(requests, responses, path);
    }

    private static readonly string[] BuiltIn =
    [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    ];

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(System.IO.Path.Combine(dir.FullName, "Meerkat.slnx"))) continue;
            string candidate = System.IO.Path.Combine(dir.FullName, "tests", "Meerkat.Tests", "Http", "Conformance", FileName);
            return File.Exists(candidate) ? candidate : null;
        }
        return null;
    }
}
