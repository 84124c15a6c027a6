// How this file works: the client core (HttpClientCore) under fuzzing. Each input is a byte stream
// a server might send (FuzzInputs over the corpus's responses and a few of our own: as they are,
// mutated, spliced, or drawn from HTTP's alphabet) answering 1 to 4 pipelined requests (GET or
// HEAD). It is fed to a fresh core whole, at random cuts and, when short, byte by byte, each time
// with and without the end of stream. Invariants:
//   1. Receive never throws: every failure is an Error event with a message;
//   2. it never hangs: each call makes progress, and after the end of stream it never asks for more;
//   3. every Head is followed by exactly one Done before Error or Close, an aborted Done only right
//      before Error, and after the end of stream the last event is Error or Close;
//   4. the events (body pieces merged) are the same wherever the input was cut.
using System.Diagnostics;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Fuzz;

public sealed class ClientTarget : IFuzzTarget
{
    private static readonly string[] Own =
    [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\nuntil close",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ];

    private readonly List<byte[]> seeds;

    public ClientTarget(FuzzCorpus corpus) => seeds = [.. Own.Select(Encoding.Latin1.GetBytes), .. corpus.Responses];

    public string Name => "client";

    public byte[] NextInput(Random random) => FuzzInputs.Next(random, seeds);

    public void Check(byte[] input, Random random)
    {
        string[] methods = Methods(random);
        foreach (bool endOfStream in new[] { false, true })
        {
            var whole = Drive(input, methods, [input.Length], endOfStream, out string? broken);
            if (broken is not null) throw new FuzzFailure($"whole input, end of stream {endOfStream}, {string.Join(",", methods)}: {broken}");
            var cuts = new List<int[]> { RandomCuts(random, input.Length), RandomCuts(random, input.Length) };
            if (input.Length <= 1024) cuts.Add(input.Length == 0 ? [0] : [.. Enumerable.Range(1, input.Length)]);
            foreach (var cut in cuts)
            {
                var events = Drive(input, methods, cut, endOfStream, out broken);
                if (broken is not null) throw new FuzzFailure($"cut at {string.Join(",", cut.Take(20))}, end of stream {endOfStream}: {broken}");
                if (!events.SequenceEqual(whole))
                    throw new FuzzFailure($"the events differ when cut at {string.Join(",", cut.Take(20))} (end of stream {endOfStream}, {string.Join(",", methods)}):\n  whole: {string.Join(" | ", whole)}\n  cut:   {string.Join(" | ", events)}");
            }
        }
    }

    /// <summary>Feeds <paramref name="input"/> up to each end offset in turn (the last is its length), the way the
    /// connection glue does, and returns the events; <paramref name="broken"/> names a broken invariant.</summary>
    private static List<string> Drive(byte[] input, string[] methods, int[] ends, bool endOfStream, out string? broken)
    {
        var core = new HttpClientCore(new HttpLimits(), 1 << 20, Stopwatch.Frequency);
        foreach (string method in methods) core.SendRequest(new HttpClientRequest(method, "http://fuzz.test/"), 0);
        core.ClearOutput();
        var events = new List<string>();
        var order = new TransactionOrder();
        int start = 0;
        broken = null;
        foreach (int end in ends)
        {
            bool last = end == input.Length;
            if (!Pump(core, input, ref start, end, endOfStream && last, events, order, out broken, out bool stopped) || stopped) return events;
        }
        if (endOfStream && !order.IsEnded) broken = $"the end of stream left the connection undecided: {string.Join(" | ", events)}";
        return events;
    }

    private static bool Pump(HttpClientCore core, byte[] input, ref int start, int end, bool endOfStream, List<string> events,
        TransactionOrder order, out string? broken, out bool stopped)
    {
        broken = null;
        stopped = false;
        for (int calls = 0; ; calls++)
        {
            if (calls > end - start + 64) { broken = "no progress: the core keeps returning events without consuming"; return false; }
            var e = core.Receive(input.AsMemory(start, end - start), endOfStream, out int consumed);
            core.ClearOutput();
            if (consumed < 0 || consumed > end - start) { broken = $"consumed {consumed} of {end - start}"; return false; }
            if (e == HttpClientEvent.NeedMoreData)
            {
                if (endOfStream) { broken = "NeedMoreData after the end of stream (a hang)"; return false; }
                start += consumed;
                return true;
            }
            string entry = Describe(core, e);
            if (order.Next(e, core) is { } wrong) { broken = $"{wrong} at {entry}: {string.Join(" | ", events)}"; return false; }
            Record(events, entry);
            if (e is HttpClientEvent.Error or HttpClientEvent.Close)
            {
                stopped = true;
                return true;
            }
            start += consumed;
        }
    }

    /// <summary>The transaction rule, event by event.</summary>
    private sealed class TransactionOrder
    {
        private bool open, messageEnded, abortedDone;

        public bool IsEnded { get; private set; }

        public string? Next(HttpClientEvent e, HttpClientCore core)
        {
            if (IsEnded) return "an event after Error or Close";
            if (abortedDone && e != HttpClientEvent.Error) return "an aborted Done not followed by Error";
            switch (e)
            {
                case HttpClientEvent.Head:
                    if (open) return "Head inside a transaction";
                    open = true;
                    messageEnded = false;
                    break;
                case HttpClientEvent.Body:
                    if (!open || messageEnded) return "Body outside a message";
                    break;
                case HttpClientEvent.Message:
                    if (!open || messageEnded) return "Message outside a transaction";
                    messageEnded = true;
                    break;
                case HttpClientEvent.Done:
                    if (!open) return "Done without a Head";
                    if (core.Outcome == HttpOutcome.Completed && !messageEnded) return "a completed Done without Message";
                    if (core.Outcome != HttpOutcome.Completed) abortedDone = true;
                    open = false;
                    break;
                case HttpClientEvent.Interim:
                    if (open) return "Interim inside a transaction";
                    break;
                case HttpClientEvent.Error:
                    if (open) return "Error inside a transaction (its Done is missing)";
                    if (core.Error is null || core.Error.Message.Length == 0) return "an Error without a message";
                    IsEnded = true;
                    break;
                case HttpClientEvent.Close:
                    if (open) return "Close inside a transaction (its Done is missing)";
                    IsEnded = true;
                    break;
            }
            return null;
        }
    }

    private static string Describe(HttpClientCore core, HttpClientEvent e) => e switch
    {
        HttpClientEvent.Interim => $"interim {core.InterimStatus}",
        HttpClientEvent.Head => $"head {core.Response!.StatusCode} {core.Response.Framing} {core.Response.ContentLength}",
        HttpClientEvent.Body => "body " + Convert.ToHexString(core.Body.Span),
        HttpClientEvent.Message => $"message {core.Response!.BodyBytesReceived} {core.Response.Trailers.Count}",
        HttpClientEvent.Done => $"done {core.Outcome}",
        HttpClientEvent.Error => $"error {core.Error!.Message}",
        _ => "close",
    };

    private static void Record(List<string> events, string entry)
    {
        if (entry.StartsWith("body ", StringComparison.Ordinal) && events.Count > 0 && events[^1].StartsWith("body ", StringComparison.Ordinal))
            events[^1] += entry[5..];
        else
            events.Add(entry);
    }

    private static int[] RandomCuts(Random random, int length)
    {
        var cuts = new SortedSet<int> { length };
        for (int i = random.Next(1, 6); i > 0 && length > 0; i--) cuts.Add(random.Next(0, length + 1));
        return [.. cuts];
    }

    private static string[] Methods(Random random)
    {
        var methods = new string[random.Next(1, 5)];
        for (int i = 0; i < methods.Length; i++) methods[i] = random.Next(4) == 0 ? "HEAD" : "GET";
        return methods;
    }
}
