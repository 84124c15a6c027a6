// The client core against a scripted raw server, with no socket: what the client writes is kept
// for the test to read (Sent), and the server's bytes (written by the test) are fed to the client
// in the pieces given, the way HttpClientProtocol does it: unconsumed bytes stay and new ones are
// appended, Receive is called until it needs more, and nothing is fed after Error or Close. Events
// are recorded as comparable strings, consecutive body pieces merged, so that a transcript does
// not depend on where the input was cut.
using System.Diagnostics;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Tests.Http.Client;

internal sealed class ClientCorePair
{
    /// <summary>The 100-continue wait of the pair's core, in fake ticks.</summary>
    public static readonly long ContinueTicks = Stopwatch.Frequency;

    private readonly List<byte> sent = [];
    private byte[] unconsumed = [];

    public ClientCorePair(HttpLimits? limits = null, int maxBufferedBodySize = 16 * 1024 * 1024) =>
        Core = new HttpClientCore(limits ?? new HttpLimits(), maxBufferedBodySize, ContinueTicks);

    public HttpClientCore Core { get; }

    /// <summary>The fake clock given to the core.</summary>
    public long Now { get; set; } = 1_000_000;

    /// <summary>The transcript so far.</summary>
    public List<string> Events { get; } = [];

    /// <summary>Error or Close was returned: the glue would stop feeding (the connection is closing).</summary>
    public bool IsStopped { get; private set; }

    /// <summary>Bytes the client wrote so far, as Latin-1 text.</summary>
    public string Sent => Encoding.Latin1.GetString(sent.ToArray());

    public void ClearSent() => sent.Clear();

    public static HttpClientRequest Get(string path, string method = "GET") => new(method, "http://example.test" + path);

    public bool Send(HttpClientRequest request)
    {
        bool accepted = Core.SendRequest(request, Now);
        TakeOutput();
        return accepted;
    }

    public bool SendHead(HttpClientRequest request, long contentLength)
    {
        bool accepted = Core.SendRequestHead(request, contentLength);
        TakeOutput();
        return accepted;
    }

    public void SendBody(string data)
    {
        Core.SendRequestBody(Encoding.Latin1.GetBytes(data));
        TakeOutput();
    }

    public void EndBody(params (string Name, string Value)[] trailers)
    {
        Core.EndRequestBody(trailers.Select(t => new KeyValuePair<string, string>(t.Name, t.Value)));
        TakeOutput();
    }

    /// <summary>Moves the clock and lets the core's timer run.</summary>
    public void Tick(long ticks)
    {
        Now += ticks;
        Core.OnTimer(Now);
        TakeOutput();
    }

    public void Deliver(string text, bool endOfStream = false) => Deliver([Encoding.Latin1.GetBytes(text)], endOfStream);

    /// <summary>Feeds the pieces in order, then (optionally) the end of stream.</summary>
    public void Deliver(IEnumerable<byte[]> pieces, bool endOfStream = false)
    {
        foreach (var piece in pieces)
        {
            if (IsStopped) return;
            unconsumed = [.. unconsumed, .. piece];
            Pump(endOfStream: false);
        }
        if (endOfStream && !IsStopped) Pump(endOfStream: true);
    }

    /// <summary>The transport failed or was closed from outside, as the glue's hooks would report it.</summary>
    public void Abort(HttpOutcome reason)
    {
        if (Core.Abort(reason, out var outcome)) Record($"done {outcome}");
        IsStopped = true;
    }

    private void Pump(bool endOfStream)
    {
        for (int guard = 0; ; guard++)
        {
            if (guard > 1_000_000) throw new InvalidOperationException("the core does not make progress (a hang)");
            var e = Core.Receive(unconsumed, endOfStream, out int consumed);
            TakeOutput();
            if (e == HttpClientEvent.NeedMoreData)
            {
                if (endOfStream) throw new InvalidOperationException("the core asked for more data after the end of stream (a hang)");
                unconsumed = unconsumed[consumed..];
                return;
            }
            Record(Describe(e));
            if (e is HttpClientEvent.Error or HttpClientEvent.Close)
            {
                IsStopped = true;
                return;
            }
            unconsumed = unconsumed[consumed..];
        }
    }

    private string Describe(HttpClientEvent e) => e switch
    {
        HttpClientEvent.Interim => $"interim {Core.InterimStatus}",
        HttpClientEvent.Head => $"head {Core.Response!.StatusCode} HTTP/1.{Core.Response.VersionMinor} {Core.Response.Framing}",
        HttpClientEvent.Body => "body " + Encoding.Latin1.GetString(Core.Body.Span),
        HttpClientEvent.Message => $"message {Core.Response!.BodyBytesReceived}" + Trailers() + Buffered(),
        HttpClientEvent.Done => $"done {Core.Outcome}",
        HttpClientEvent.Error => $"error {Core.Error!.Message}",
        _ => "close",
    };

    private string Trailers() => Core.Response!.Trailers.Count == 0 ? "" : " trailers " + string.Join(", ", Core.Response.Trailers.Select(t => $"{t.Key}: {t.Value}"));

    private string Buffered() => Core.BufferedBody.IsEmpty ? "" : " buffered " + Encoding.Latin1.GetString(Core.BufferedBody);

    private void Record(string entry)
    {
        if (entry.StartsWith("body ", StringComparison.Ordinal) && Events.Count > 0 && Events[^1].StartsWith("body ", StringComparison.Ordinal))
        {
            Events[^1] += entry[5..];
            return;
        }
        Events.Add(entry);
    }

    private void TakeOutput()
    {
        sent.AddRange(Core.Output.ToArray());
        Core.ClearOutput();
    }
}

/// <summary>Ways of cutting what a server sends: whole, byte by byte, and at every split point.</summary>
internal static class Cuts
{
    public static IEnumerable<IEnumerable<byte[]>> All(string text)
    {
        byte[] data = Encoding.Latin1.GetBytes(text);
        yield return [data];
        yield return data.Select(b => new[] { b });
        for (int i = 1; i < data.Length; i++) yield return [data[..i], data[i..]];
    }

    /// <summary>Runs <paramref name="scenario"/> for every cut of <paramref name="response"/> and checks each
    /// transcript equals <paramref name="expected"/>; returns the pairs for further checks.</summary>
    public static List<ClientCorePair> Run(Action<ClientCorePair> setUp, string response, bool endOfStream, params string[] expected)
    {
        var pairs = new List<ClientCorePair>();
        int index = 0;
        foreach (var cut in All(response))
        {
            var pair = new ClientCorePair();
            setUp(pair);
            pair.Deliver(cut, endOfStream);
            Assert.True(expected.SequenceEqual(pair.Events),
                $"cut #{index}: expected\n  {string.Join("\n  ", expected)}\nbut got\n  {string.Join("\n  ", pair.Events)}");
            pairs.Add(pair);
            index++;
        }
        return pairs;
    }
}
