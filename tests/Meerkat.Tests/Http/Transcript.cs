// What a reader produced for one input: messages and the final outcome, in a comparable form.
// ReaderDriver feeds inputs in pieces the way a connection would (keeping unconsumed bytes).
using System.Text;
using Meerkat.Http;

namespace Meerkat.Tests.Http;

public sealed class TranscriptMessage
{
    public bool HeadSeen, Complete;
    public string? Method, Url, Version, Reason;
    public int Status;
    public List<string> Headers { get; } = [];
    public List<string> Trailers { get; } = [];
    public string Body = "";
    public bool? KeepAlive, Upgrade;

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(HeadSeen ? $"{Method}{Status} {Url}{Reason} {Version}" : "(no head)");
        sb.Append(" ka=").Append(KeepAlive).Append(" up=").Append(Upgrade).Append(" complete=").Append(Complete);
        foreach (string h in Headers) sb.Append("\n    ").Append(h);
        sb.Append("\n    body=").Append(Body.Replace("\r", "\\r").Replace("\n", "\\n"));
        return sb.ToString();
    }
}

public sealed class Transcript
{
    /// <summary>complete, incomplete, error, upgrade; null = only "no error" is expected.</summary>
    public string? Outcome;
    public HttpError Error;
    public string? UpgradeData;
    public List<TranscriptMessage> Messages { get; } = [];

    public override string ToString() =>
        $"outcome={Outcome} error={Error} upgrade_data={UpgradeData}\n  " + string.Join("\n  ", Messages);
}

/// <summary>Feeds pieces of input to an <see cref="HttpMessageReader"/> like a connection does.</summary>
public static class ReaderDriver
{
    public static Transcript Run(bool isRequest, IEnumerable<byte[]> pieces, bool endOfStream, HttpLimits? limits = null,
                                 bool responsesToHead = false)
    {
        var reader = new HttpMessageReader(isRequest, limits);
        s_responsesToHead = responsesToHead;
        var transcript = new Transcript();
        byte[] buffer = [];
        bool stopped = false;
        foreach (byte[] piece in pieces)
        {
            if (stopped)
            {
                // After an upgrade every later byte belongs to the other protocol.
                if (transcript.Outcome == "upgrade") transcript.UpgradeData += ConformanceCorpus.Latin1(piece);
                continue;
            }
            buffer = [.. buffer, .. piece];
            stopped = Drain(reader, ref buffer, endOfStream: false, transcript);
        }
        if (!stopped && endOfStream) stopped = Drain(reader, ref buffer, endOfStream: true, transcript);
        if (!stopped) transcript.Outcome = buffer.Length == 0 && !reader.IsInMessage ? "complete" : "incomplete";
        return transcript;
    }

    public static Transcript Whole(bool isRequest, byte[] raw, bool endOfStream = false, HttpLimits? limits = null) =>
        Run(isRequest, [raw], endOfStream, limits);

    public static Transcript Whole(bool isRequest, string raw, bool endOfStream = false, HttpLimits? limits = null) =>
        Whole(isRequest, Encoding.Latin1.GetBytes(raw), endOfStream, limits);

    public static IEnumerable<byte[]> BytewisePieces(byte[] raw) => raw.Select(b => new[] { b });

    public static IEnumerable<byte[]> SplitAt(byte[] raw, int at) => [raw[..at], raw[at..]];

    /// <summary>Reads events until the reader needs more data; true when it stopped for good (error or upgrade).</summary>
    [ThreadStatic] private static bool s_responsesToHead;

    private static bool Drain(HttpMessageReader reader, ref byte[] buffer, bool endOfStream, Transcript t)
    {
        while (true)
        {
            if (s_responsesToHead && !reader.IsInMessage) reader.SetRequestMethod("HEAD"u8);
            HttpReadResult result = reader.Read(buffer, endOfStream, out int consumed);
            switch (result)
            {
                case HttpReadResult.Head:
                case HttpReadResult.Interim:
                    t.Messages.Add(FromHead(reader.Head, complete: result == HttpReadResult.Interim));
                    break;
                case HttpReadResult.Body:
                    t.Messages[^1].Body += ConformanceCorpus.Latin1(reader.Body.Span);
                    break;
                case HttpReadResult.MessageEnd:
                    t.Messages[^1].Complete = true;
                    for (int i = 0; i < reader.Trailers.Count; i++)
                        t.Messages[^1].Trailers.Add($"{reader.Trailers.GetNameString(i)}: {reader.Trailers.GetValueString(i)}");
                    break;
                case HttpReadResult.Upgrade:
                    t.Outcome = "upgrade";
                    t.UpgradeData = ConformanceCorpus.Latin1(buffer);
                    return true;
                case HttpReadResult.Error:
                    t.Outcome = "error";
                    t.Error = reader.Error;
                    return true;
            }
            buffer = buffer[consumed..];
            if (result == HttpReadResult.NeedMoreData) return false;
        }
    }

    private static TranscriptMessage FromHead(HttpHead head, bool complete)
    {
        var m = new TranscriptMessage
        {
            HeadSeen = true,
            Complete = complete,
            Method = head.IsRequest ? head.MethodString : null,
            Url = head.IsRequest ? head.TargetString : null,
            Status = head.StatusCode,
            Reason = head.IsRequest ? null : head.ReasonString,
            Version = "HTTP/1." + head.VersionMinor,
            KeepAlive = head.KeepAlive,
            Upgrade = head.IsUpgrade,
        };
        for (int i = 0; i < head.Headers.Count; i++) m.Headers.Add($"{head.Headers.GetNameString(i)}: {head.Headers.GetValueString(i)}");
        return m;
    }
}
