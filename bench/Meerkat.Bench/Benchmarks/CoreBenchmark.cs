using System.Buffers;
using System.Diagnostics;
using Meerkat.Bench.Harness;
using Meerkat.Http;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>core</c>: the sans-I/O HTTP/1.1 server core alone, with no socket and no loop: parse the
/// request wrk sends, answer <c>200 text/plain "Hello, World!"</c>, end the transaction, on one
/// thread. It reports nanoseconds and bytes allocated per request as the minimum over many short
/// rounds, so it reads the same on a busy machine (preemption only ever makes a round slower).
/// A diagnostic for the parse and head-writing code, not a comparison: the comparisons are
/// <c>plaintext</c> and <c>routing</c>.
/// </summary>
public static class CoreBenchmark
{
    private static readonly byte[] Request = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"u8.ToArray();

    public static int Run(BenchArgs args)
    {
        int rounds = args.Int("rounds", 200, 1, 100_000);
        int perRound = args.Int("requests", 20_000, 1, 10_000_000);
        int pipeline = args.Int("pipeline", 1, 1, 64);
        args.RejectUnknown();

        byte[] input = new byte[Request.Length * pipeline];
        for (int i = 0; i < pipeline; i++) Request.CopyTo(input, i * Request.Length);
        var core = new HttpServerCore(new HttpServerOptions(), Stopwatch.GetTimestamp());
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        long sent = 0;

        Serve(core, input, output, pipeline, perRound, ref sent); // warm-up: tier-up and pools
        Thread.Sleep(500);
        Serve(core, input, output, pipeline, perRound, ref sent);

        double best = double.MaxValue;
        long bestBytes = long.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            Serve(core, input, output, pipeline, perRound, ref sent);
            double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / perRound;
            best = Math.Min(best, ns);
            bestBytes = Math.Min(bestBytes, GC.GetAllocatedBytesForCurrentThread() - bytes);
        }
        Console.WriteLine($"core: {pipeline} request(s) per read, {rounds} rounds of {perRound}: best {best:F1} ns/request, {(double)bestBytes / perRound:F2} B/request allocated ({sent} response bytes in all)");
        return 0;
    }

    private static void Serve(HttpServerCore core, byte[] input, ArrayBufferWriter<byte> output, int pipeline, int requests, ref long sent)
    {
        long now = Stopwatch.GetTimestamp();
        for (int served = 0; served < requests;)
        {
            ReadOnlyMemory<byte> rest = input;
            for (int p = 0; p < pipeline && served < requests; p++, served++)
            {
                while (true)
                {
                    var e = core.Next(rest, endOfStream: false, now, output, out int consumed);
                    if (e.Kind == HttpServerEventKind.Message)
                    {
                        core.BeginResponse(output, 200, 13, "text/plain", default, peerFinished: false, monotonic: now);
                        core.Response!.Write(output, "Hello, World!"u8);
                        core.Response!.End(output);
                    }
                    else if (e.Kind == HttpServerEventKind.Done)
                    {
                        rest = rest[consumed..];
                        break;
                    }
                    else if (e.Kind == HttpServerEventKind.NeedMoreData)
                    {
                        throw new InvalidOperationException($"the core stopped in {core.State}");
                    }
                }
            }
            sent += output.WrittenCount;
            output.ResetWrittenCount();
        }
    }
}
