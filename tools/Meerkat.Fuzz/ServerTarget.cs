// How this file works: the server core (HttpServerCore) under fuzzing. Each input is fed whole,
// then cut at random points (and now and then byte by byte), to a core whose handler answers in one
// of four ways (at once, streaming the body in, early before the body, deferred). Invariants:
//   1. the core throws nothing (its only failure mode is a documented HTTP error answer);
//   2. it settles: a bounded number of steps per call, never a loop;
//   3. the same events, response bytes and final state for every way of cutting the input;
//   4. an error answer (4xx/5xx) always comes with the connection closing, and no state buffers
//      more than the head/trailer/chunk-line limits allow while it waits for bytes;
//   5. at end of stream every transaction has ended (one Done per Headers) and the connection closes.
using System.Buffers;
using System.Text;
using Meerkat.Http;

namespace Meerkat.Fuzz;

public sealed class ServerTarget : IFuzzTarget
{
    private const int MaxStepsPerCall = 100_000;
    private const int MaxHeldBytes = 64 * 1024; // head 32 KiB + trailers 16 KiB + a chunk line's extensions 4 KiB, with room

    private readonly List<byte[]> seeds = [];

    public ServerTarget(FuzzCorpus corpus)
    {
        foreach (var request in corpus.Requests)
        {
            seeds.Add(request);
            seeds.Add(WithHost(request)); // most corpus requests lack Host: this variant reaches past the head
        }
    }

    public string Name => "server";

    public byte[] NextInput(Random random) => FuzzInputs.Next(random, seeds);

    public void Check(byte[] input, Random random)
    {
        int behaviour = random.Next(4);
        string expected = Run(input, [input.Length], behaviour);
        int cuttings = input.Length < 200 && random.Next(8) == 0 ? 3 : 2;
        for (int i = 0; i < cuttings; i++)
        {
            int[] cuts = i == 2 ? [.. Enumerable.Range(1, input.Length)] : RandomCuts(random, input.Length);
            string actual = Run(input, cuts, behaviour);
            if (actual != expected)
                throw new FuzzFailure($"behaviour {behaviour}, cut at [{string.Join(",", cuts)}] differs from whole:\n{actual}\n--- whole ---\n{expected}");
        }
    }

    private static int[] RandomCuts(Random random, int length)
    {
        var cuts = new SortedSet<int> { length };
        int count = random.Next(1, 5);
        for (int i = 0; i < count; i++) cuts.Add(random.Next(length + 1));
        return [.. cuts];
    }

    /// <summary>Feeds the input in pieces ending at <paramref name="cuts"/>, then the end of stream; returns the transcript.</summary>
    private static string Run(byte[] input, int[] cuts, int behaviour)
    {
        var run = new Session(behaviour);
        int fed = 0;
        foreach (int cut in cuts)
        {
            run.Receive(input.AsSpan(fed, cut - fed));
            fed = cut;
        }
        run.CheckWhileOpen();
        run.End();
        run.CheckAtEnd();
        return run.Transcript;
    }

    private static byte[] WithHost(byte[] request)
    {
        int lineEnd = request.AsSpan().IndexOf("\r\n"u8);
        if (lineEnd < 0 || request.AsSpan().IndexOf("\r\nHost:"u8) >= 0) return request;
        return [.. request.AsSpan(0, lineEnd + 2), .. "Host: fuzz\r\n"u8, .. request.AsSpan(lineEnd + 2)];
    }

    private sealed class FixedClock : TimeProvider
    {
        public static readonly FixedClock Instance = new();

        public override DateTimeOffset GetUtcNow() => new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>One connection's worth of core, input buffer, handler and transcript.</summary>
    private sealed class Session
    {
        private static readonly HttpServerOptions Options = new() { MaxBufferedBodySize = 4096, MaxDrainSize = 1024, TimeProvider = FixedClock.Instance };

        private readonly HttpServerCore core = new(Options, 0, FixedClock.Instance);
        private readonly ArrayBufferWriter<byte> output = new();
        private readonly StringBuilder events = new();
        private readonly int behaviour;
        private byte[] buffer = new byte[256];
        private int start, end, headers, dones;
        private long streamed;
        private bool endOfStream;

        public Session(int behaviour) => this.behaviour = behaviour;

        public string Transcript => $"{events}--\n{Encoding.Latin1.GetString(output.WrittenSpan)}\n--\n{core.State}";

        public void Receive(ReadOnlySpan<byte> bytes)
        {
            if (end + bytes.Length > buffer.Length) Array.Resize(ref buffer, Math.Max(buffer.Length * 2, end + bytes.Length));
            bytes.CopyTo(buffer.AsSpan(end));
            end += bytes.Length;
            Pump();
        }

        public void End()
        {
            endOfStream = true;
            Pump();
        }

        public void CheckWhileOpen()
        {
            bool answeredError = ErrorAnswered();
            if (answeredError && core.State is not (HttpServerState.MustClose or HttpServerState.Aborted))
                throw new FuzzFailure($"an error was answered but the connection stays {core.State}");
            if (core.State is HttpServerState.Idle or HttpServerState.ReadingHead or HttpServerState.ReadingBody or HttpServerState.DiscardingBody
                && end - start > MaxHeldBytes)
                throw new FuzzFailure($"{end - start} unconsumed bytes held in {core.State}: over the limits");
        }

        public void CheckAtEnd()
        {
            if (headers != dones) throw new FuzzFailure($"{headers} transactions began and {dones} ended at end of stream");
            if (core.State is not (HttpServerState.MustClose or HttpServerState.Aborted))
                throw new FuzzFailure($"the connection stays {core.State} after the peer's end of stream");
            if (output.WrittenCount > 0 && !output.WrittenSpan.StartsWith("HTTP/1."u8)) throw new FuzzFailure("the output does not start with a status line");
        }

        private bool ErrorAnswered()
        {
            var text = output.WrittenSpan;
            return text.IndexOf(" 400 "u8) >= 0 || text.IndexOf(" 408 "u8) >= 0 || text.IndexOf(" 413 "u8) >= 0 || text.IndexOf(" 414 "u8) >= 0
                || text.IndexOf(" 431 "u8) >= 0 || text.IndexOf(" 500 "u8) >= 0 || text.IndexOf(" 501 "u8) >= 0 || text.IndexOf(" 505 "u8) >= 0;
        }

        private void Pump()
        {
            for (int steps = 0; steps < MaxStepsPerCall; steps++)
            {
                HttpServerEvent e;
                int consumed;
                try
                {
                    e = core.Next(buffer.AsMemory(start, end - start), endOfStream, 0, output, out consumed);
                }
                catch (Exception ex)
                {
                    throw new FuzzFailure($"the core threw {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
                }
                if (e.Kind == HttpServerEventKind.NeedMoreData)
                {
                    start += consumed;
                    if (behaviour == 3 && core.IsAwaitingResponse && core.State == HttpServerState.Responding)
                    {
                        Answer(); // the deferred answer, as a worker's wakeup would give it
                        continue;
                    }
                    return;
                }
                Record(e);
                if (e.Kind != HttpServerEventKind.Done) Handle(e.Kind);
                start += consumed;
            }
            throw new FuzzFailure($"the core did not settle within {MaxStepsPerCall} steps (state {core.State})");
        }

        private void Record(HttpServerEvent e)
        {
            var request = core.Request;
            switch (e.Kind)
            {
                case HttpServerEventKind.Headers:
                    headers++;
                    events.Append("Headers ").Append(request.ToString()).Append('\n');
                    break;
                case HttpServerEventKind.Body:
                    streamed += core.BodyPiece.Length; // pieces differ by cut: only their sum is compared
                    break;
                case HttpServerEventKind.Message:
                    events.Append("Message ").Append(request.Body.Length + streamed).Append(" trailers ").Append(request.Trailers.Count).Append('\n');
                    streamed = 0;
                    break;
                case HttpServerEventKind.Done:
                    dones++;
                    events.Append("Done ").Append(e.Outcome).Append(' ').Append(request.ResponseStatus).Append('\n');
                    break;
            }
        }

        private void Handle(HttpServerEventKind kind)
        {
            switch (behaviour, kind)
            {
                case (1, HttpServerEventKind.Headers):
                    core.Request.StreamBody = true;
                    break;
                case (2, HttpServerEventKind.Headers):
                    Reply(403, "early");
                    break;
                case (0 or 1 or 2, HttpServerEventKind.Message) when core.IsAwaitingResponse:
                    Answer();
                    break;
            }
        }

        private void Answer()
        {
            var request = core.Request;
            if (behaviour != 1)
            {
                Reply(200, $"{request.MethodString} {request.Body.Length}");
                return;
            }
            core.BeginResponse(output, 200, -1, "text/plain", [], endOfStream && start == end);
            core.Response!.Write(output, "streamed"u8);
            if (request.VersionMinor == 1) core.Response!.End(output, [("X-Trailer", "1")]);
            else core.Response!.End(output);
        }

        private void Reply(int status, string body)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            core.BeginResponse(output, status, bytes.Length, "text/plain", [], endOfStream && start == end);
            core.Response!.Write(output, bytes);
            core.Response!.End(output);
        }
    }
}
