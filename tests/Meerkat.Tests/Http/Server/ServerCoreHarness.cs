// A socket-free driver of HttpServerCore (as WebSocketTestPair is for WebSocket): raw request bytes
// in, at any split, with a handler that answers like a user's would; a transcript out (events,
// every response byte, the final state) so that feeding the same bytes cut differently can be
// compared whole. Time is a number the test moves; the Date field comes from a fixed clock.
using System.Buffers;
using System.Diagnostics;
using System.Text;
using Meerkat.Http;

namespace Meerkat.Tests.Http.Server;

internal sealed class FixedTime : TimeProvider
{
    public static readonly FixedTime Instance = new();

    public override DateTimeOffset GetUtcNow() => new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
}

/// <summary>What a test handler throws to play a buggy handler (the glue catches any exception).</summary>
internal sealed class HandlerBug(string message) : Exception(message);

internal sealed class ServerCoreHarness
{
    private readonly List<byte> input = [];
    private readonly List<string> events = [];

    public ServerCoreHarness(Action<ServerCoreHarness, HttpServerEventKind>? handler = null, HttpServerOptions? options = null)
    {
        options ??= new HttpServerOptions();
        options.TimeProvider = FixedTime.Instance;
        Core = new HttpServerCore(options, Now, FixedTime.Instance);
        Handler = handler ?? ((h, kind) => { if (kind == HttpServerEventKind.Message) h.Reply(200, "ok"); });
    }

    public HttpServerCore Core { get; }

    public Action<ServerCoreHarness, HttpServerEventKind> Handler { get; set; }

    public ArrayBufferWriter<byte> Output { get; } = new();

    public bool EndOfStream { get; private set; }

    /// <summary>Stopwatch ticks; tests move it with <see cref="Advance"/>.</summary>
    public long Now { get; private set; } = 1_000_000;

    public HttpRequest Request => Core.Request;

    /// <summary>The response of the request in progress (the core leases it only while one is).</summary>
    private ResponseWriter Response => Core.Response ?? throw new InvalidOperationException("no request is in progress");

    public IReadOnlyList<string> Events => events;

    public string OutputText => Encoding.Latin1.GetString(Output.WrittenSpan);

    public int Unconsumed => input.Count;

    /// <summary>Everything observable: events, response bytes, state.</summary>
    public string Transcript => string.Join("\n", events) + "\n--\n" + OutputText + "\n--\n" + Core.State;

    public ServerCoreHarness Receive(string text) => Receive(Encoding.Latin1.GetBytes(text));

    public ServerCoreHarness Receive(byte[] bytes)
    {
        input.AddRange(bytes);
        return Pump();
    }

    public ServerCoreHarness End()
    {
        EndOfStream = true;
        return Pump();
    }

    /// <summary>What the glue does on a Read, a Wakeup's completed response or end of stream.</summary>
    public ServerCoreHarness Pump()
    {
        for (int guard = 0; guard < 10_000; guard++)
        {
            byte[] bytes = [.. input];
            var e = Core.Next(bytes, EndOfStream, Now, Output, out int consumed);
            if (e.Kind == HttpServerEventKind.NeedMoreData)
            {
                input.RemoveRange(0, consumed);
                return this;
            }
            Record(e);
            if (e.Kind != HttpServerEventKind.Done)
            {
                try
                {
                    Handler(this, e.Kind);
                }
                catch (HandlerBug ex)
                {
                    input.RemoveRange(0, consumed);
                    var done = Core.HandlerFailed(Output, ex);
                    if (done.Kind == HttpServerEventKind.Done) Record(done);
                    continue;
                }
            }
            input.RemoveRange(0, consumed);
        }
        throw new InvalidOperationException("the core did not settle: a loop");
    }

    public ServerCoreHarness Advance(TimeSpan by, long pendingOutput = 0, bool readPaused = false)
    {
        Now += (long)(by.TotalSeconds * Stopwatch.Frequency);
        var e = Core.Tick([.. input], Now, pendingOutput, readPaused, Output);
        if (e.Kind == HttpServerEventKind.Done) Record(e);
        return this;
    }

    public void Abort(HttpOutcome outcome, long pendingOutput = 0)
    {
        var e = Core.Abort(outcome, null, pendingOutput);
        if (e.Kind == HttpServerEventKind.Done) Record(e);
    }

    public void Reply(int status, string body, params (string, string)[] headers)
    {
        Begin(status, Encoding.UTF8.GetByteCount(body), headers);
        Response.Write(Output, Encoding.UTF8.GetBytes(body));
        Response.End(Output);
    }

    public void Begin(int status, long length = -1, params (string, string)[] headers) =>
        Core.BeginResponse(Output, status, length, "text/plain", headers, EndOfStream && input.Count == 0);

    public void Write(string text) => Response.Write(Output, Encoding.UTF8.GetBytes(text));

    public void Finish(params (string, string)[] trailers) => Response.End(Output, trailers);

    private void Record(HttpServerEvent e)
    {
        switch (e.Kind)
        {
            case HttpServerEventKind.Headers:
                events.Add($"Headers {Request}");
                break;
            case HttpServerEventKind.Body:
                string piece = Encoding.Latin1.GetString(Core.BodyPiece);
                if (events.Count > 0 && events[^1].StartsWith("Body ", StringComparison.Ordinal)) events[^1] += piece;
                else events.Add("Body " + piece);
                break;
            case HttpServerEventKind.Message:
                var trailers = Request.Trailers;
                string fields = string.Join(",", Enumerable.Range(0, trailers.Count).Select(i => trailers.GetNameString(i) + "=" + trailers.GetValueString(i)));
                events.Add($"Message [{Encoding.Latin1.GetString(Request.Body)}] trailers [{fields}]");
                break;
            case HttpServerEventKind.Done:
                events.Add($"Done {e.Outcome} {Request.ResponseStatus}");
                break;
        }
    }

    /// <summary>Feeds <paramref name="bytes"/> whole, byte by byte and split in two at every position (then
    /// <paramref name="then"/>, e.g. end of stream or a deferred answer) and asserts every transcript is the same.</summary>
    public static string SameAtEverySplit(Func<ServerCoreHarness> make, string text, Action<ServerCoreHarness>? then = null)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(text);
        var whole = make().Receive(bytes);
        then?.Invoke(whole);
        string expected = whole.Transcript;
        var bytewise = make();
        foreach (byte b in bytes) bytewise.Receive([b]);
        then?.Invoke(bytewise);
        Assert.Equal(expected, bytewise.Transcript);
        for (int split = 0; split <= bytes.Length; split++)
        {
            var h = make().Receive(bytes[..split]).Receive(bytes[split..]);
            then?.Invoke(h);
            if (h.Transcript != expected) Assert.Fail($"split at {split} differs:\n{h.Transcript}\n--- expected ---\n{expected}");
        }
        return expected;
    }
}
