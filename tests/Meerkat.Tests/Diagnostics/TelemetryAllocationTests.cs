using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Server;

namespace Meerkat.Tests.Diagnostics;

/// <summary>Metrics cost nothing when nobody listens, and stay allocation-bounded when someone does:
/// a keep-alive request on the loop thread, measured with GC.GetAllocatedBytesForCurrentThread.</summary>
[Collection(Serial.Name)]
public sealed class TelemetryAllocationTests
{
    private const int WarmUp = 2_000, Measured = 5_000;

    [Fact]
    public void A_keep_alive_request_allocates_nothing_without_a_listener_and_at_most_a_bound_with_one()
    {
        using var manager = Loop.Create(PollerBackend.Epoll, o => o.CheckInvariants = false);
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (e.Kind == EventKind.HttpDone) done++;
        });
        var go = new SemaphoreSlim(0);
        var client = Task.Run(() => Load(listener.LocalEndPoint!.Port, go, rounds: 3));

        go.Release();
        Serve(manager, ref done, WarmUp);
        go.Release();
        long unobserved = Serve(manager, ref done, WarmUp + Measured);
        Assert.Equal(0, unobserved);

        // Every Meerkat instrument enabled, with callbacks that only add up what they are given.
        double recorded = 0;
        long measurements = 0;
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == "Meerkat" && instrument.Meter.Scope is null) l.EnableMeasurementEvents(instrument); };
        meters.SetMeasurementEventCallback<double>((_, value, _, _) => { recorded += value; measurements++; });
        meters.SetMeasurementEventCallback<long>((_, value, _, _) => { recorded += value; measurements++; });
        meters.Start();
        go.Release();
        long observed = Serve(manager, ref done, WarmUp + 2 * Measured);
        client.Wait(Loop.Deadline);

        // Per request: a duration, active requests up and down, bytes in and out, and loop lag.
        Assert.InRange(measurements, 5L * Measured, 8L * Measured);
        Assert.True(recorded > 0);
        // Recording takes cached attribute values and an inline TagList: nothing per request.
        Assert.InRange(observed / (double)Measured, 0, 8);
    }

    private static long Serve(Manager manager, ref int done, int until)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (done < until) manager.Poll(100);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void Load(int port, SemaphoreSlim go, int rounds)
    {
        using var socket = RawClient.Connect(port);
        var request = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        var buffer = new byte[4096];
        for (int round = 0; round < rounds; round++)
        {
            go.Wait();
            for (int i = 0; i < (round == 0 ? WarmUp : Measured); i++)
            {
                socket.Send(request);
                int got = 0;
                while (!buffer.AsSpan(0, got).EndsWith("Hello, World!"u8))
                    got += socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None) is var n && n > 0 ? n : throw new IOException("closed");
            }
        }
    }
}
