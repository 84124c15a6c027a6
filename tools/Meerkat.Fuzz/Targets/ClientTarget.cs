// How this file works: the fuzz target for the HTTP client core (HttpClientCore). Each input is a
// byte stream a server might send, made from seeds (the conformance corpus's responses and a few
// of our own) by mutation, splicing or assembly from fragments, answering 1 to 4 requests (GET or
// HEAD, pipelined). It is fed to a fresh core whole, then at random cuts, then byte by byte (short
// inputs), each time with and without the end of stream, and these invariants are checked:
//   - Receive never throws (every failure is an Error event with a message);
//   - it never hangs: each call makes progress, and after the end of stream it never asks for more;
//   - every Head is followed by exactly one Done before Error or Close, an aborted Done only right
//     before Error, and after the end of stream the last event is Error or Close;
//   - the events (body pieces merged) are the same wherever the input was cut.
// The test suite links this file and runs a bounded number of inputs; tools/Meerkat.Fuzz runs millions.
using System.Diagnostics;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Fuzz.Targets;

/// <summary>Property-based fuzzing of the client core; deterministic for a given seed.</summary>
public static class ClientTarget
{
    /// <summary>What a run did: inputs tried, and the first broken invariant (null when none).</summary>
    public sealed record Result(long Inputs, long Errors, long Completed, string? Failure, byte[]? FailingInput);

    private static readonly string[] Tokens =
    [
        "\r\n", "\r\n\r\n", " ", ":", ";", ",", "0", "f", "-1", "HTTP/1.1 ", "HTTP/1.0 ", "HTTP/1.2 ", "200 OK", "100 Continue", "101 Switching",
        "204 No Content", "304 Not Modified", "Content-Length: ", "Content-Length: 0", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip",
        "Connection: close", "Connection: keep-alive", "0\r\n\r\n", "5\r\nhello\r\n", "ffffffffffffffff\r\n", "X: y\r\n", "\0", "\n", "\r",
    ];

    private static readonly byte[] Interesting = [(byte)'\r', (byte)'\n', (byte)' ', (byte)':', (byte)';', (byte)',', (byte)'0', (byte)'f', 0, 0xFF, (byte)'\t'];

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

    /// <summary>The built-in seeds plus <paramref name="corpus"/> (raw responses).</summary>
    public static List<byte[]> Seeds(IEnumerable<byte[]> corpus) => [.. Own.Select(Encoding.Latin1.GetBytes), .. corpus];

    /// <summary>Checks up to <paramref name="count"/> generated inputs, or until <paramref name="budget"/> runs
    /// out, stopping at the first broken invariant.</summary>
    public static Result Run(IReadOnlyList<byte[]> seeds, long count, int seed, TimeSpan budget)
    {
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        long inputs = 0, errors = 0, completed = 0;
        while (inputs < count && clock.Elapsed < budget)
        {
            byte[] input = Generate(random, seeds);
            string[] methods = Methods(random);
            inputs++;
            string? failure;
            List<string> events;
            try
            {
                failure = Check(input, methods, random, out events);
            }
            catch (Exception ex)
            {
                return new Result(inputs, errors, completed, $"exception: {ex}\nmethods: {string.Join(",", methods)}", input);
            }
            if (failure is not null) return new Result(inputs, errors, completed, $"{failure}\nmethods: {string.Join(",", methods)}", input);
            errors += events.Count(e => e.StartsWith("error", StringComparison.Ordinal));
            completed += events.Count(e => e == "done Completed");
        }
        return new Result(inputs, errors, completed, null, null);
    }

    /// <summary>Feeds one input at several cuts and checks the invariants; null when they all hold.</summary>
    public static string? Check(byte[] input, string[] methods, Random random, out List<string> reference)
    {
        reference = [];
        foreach (bool endOfStream in new[] { false, true })
        {
            var whole = Drive(input, methods, [input.Length], endOfStream, out string? broken);
            if (broken is not null) return $"whole input, end of stream {endOfStream}: {broken}";
            if (endOfStream) reference = whole;
            var cuts = new List<int[]> { RandomCuts(random, input.Length), RandomCuts(random, input.Length) };
            if (input.Length <= 1024) cuts.Add(input.Length == 0 ? [0] : [.. Enumerable.Range(1, input.Length)]);
            foreach (var cut in cuts)
            {
                var events = Drive(input, methods, cut, endOfStream, out broken);
                if (broken is not null) return $"cut at {string.Join(",", cut.Take(20))}, end of stream {endOfStream}: {broken}";
                if (!events.SequenceEqual(whole))
                    return $"the events differ when cut at {string.Join(",", cut.Take(20))} (end of stream {endOfStream}):\n  whole: {string.Join(" | ", whole)}\n  cut:   {string.Join(" | ", events)}";
            }
        }
        return null;
    }

    /// <summary>Feeds <paramref name="input"/> up to each end offset in turn (the last is its length), the way the
    /// connection glue does, and returns the events; <paramref name="broken"/> names a broken invariant.</summary>
    private static List<string> Drive(byte[] input, string[] methods, int[] ends, bool endOfStream, out string? broken)
    {
        var core = new HttpClientCore(HttpLimits.Default, 1 << 20, Stopwatch.Frequency);
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

    // ------------------------------------------------------------------ inputs

    private static byte[] Generate(Random random, IReadOnlyList<byte[]> seeds)
    {
        byte[] Pick() => seeds[random.Next(seeds.Count)];
        return random.Next(5) switch
        {
            0 => Pick(),
            1 or 2 => Mutate(random, Pick(), random.Next(1, 5)),
            3 => Mutate(random, [.. Pick(), .. Pick()], random.Next(0, 3)),
            _ => Splice(random, Pick(), Pick()),
        };
    }

    private static byte[] Splice(Random random, byte[] a, byte[] b) => [.. a.AsSpan(0, random.Next(a.Length + 1)), .. b.AsSpan(random.Next(b.Length + 1))];

    private static byte[] Mutate(Random random, byte[] input, int times)
    {
        var bytes = new List<byte>(input);
        for (int i = 0; i < times; i++)
        {
            int at = random.Next(bytes.Count + 1);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[Math.Min(at, bytes.Count - 1)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[Math.Min(at, bytes.Count - 1)] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    bytes.InsertRange(at, Encoding.Latin1.GetBytes(Tokens[random.Next(Tokens.Length)]));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(Math.Min(at, bytes.Count - 1), Math.Min(random.Next(1, 16), bytes.Count - Math.Min(at, bytes.Count - 1)));
                    break;
                case 4 when at < bytes.Count:
                    int length = Math.Min(random.Next(1, 32), bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default:
                    if (at < bytes.Count) bytes.RemoveRange(at, bytes.Count - at); // truncate
                    break;
            }
        }
        return [.. bytes];
    }
}
