using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Meerkat.Http;
using Meerkat.Http2;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Server;

namespace Meerkat.Tests.Http2;

/// <summary>DESIGN.md §6 on HTTP/2: a warm h2c connection answering GET /plaintext allocates nothing
/// per request on the loop thread (the client, another thread, is our own client core over a socket).</summary>
[Collection(Serial.Name)]
public class Http2AllocationTests
{
    [Fact]
    public void A_request_on_a_warm_h2c_connection_allocates_nothing_on_the_loop_thread()
    {
        const int WarmUp = 2_000, Measured = 5_000;
        using var manager = Loop.Create(PollerBackend.Epoll, o => o.CheckInvariants = false);
        int done = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (e.Kind == EventKind.HttpDone) done++;
        });
        int port = listener.LocalEndPoint!.Port;
        var go = new SemaphoreSlim(0);
        var client = Task.Run(() =>
        {
            using var socket = RawClient.Connect(port);
            var peer = new H2cPeer(socket);
            for (int round = 0; round < 2; round++)
            {
                go.Wait();
                for (int i = 0; i < (round == 0 ? WarmUp : Measured); i++) Assert.Equal(200, peer.Get("/plaintext"));
            }
        });
        go.Release();
        manager.Until(() => done >= WarmUp || client.IsFaulted, what: "the warm-up requests");
        long before = GC.GetAllocatedBytesForCurrentThread();
        go.Release();
        // Polled inline: Until's delegate and stopwatch would be counted.
        long deadline = Environment.TickCount64 + 60_000;
        while (done < WarmUp + Measured && !client.IsFaulted && Environment.TickCount64 < deadline) manager.Poll(100);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        client.Wait(Loop.Deadline);
        Assert.Equal(WarmUp + Measured, done);
        Assert.Equal(0, allocated);
    }

    /// <summary>One request at a time over h2c with prior knowledge, driven by the client core.</summary>
    private sealed class H2cPeer
    {
        private readonly Socket socket;
        private readonly ArrayBufferWriter<byte> output = new(4096);
        private readonly Http2Connection core;
        private readonly Http2HeaderList request = new();
        private readonly byte[] input = new byte[256 * 1024];
        private int held;

        public H2cPeer(Socket socket)
        {
            this.socket = socket;
            core = new Http2Connection(isServer: false, output, Stopwatch.GetTimestamp());
            Flush();
        }

        public int Get(string path)
        {
            request.Clear();
            request.Add(":method", "GET").Add(":scheme", "http").Add(":authority", "localhost").Add(":path", path);
            int id = core.OpenStream(request, endStream: true);
            Flush();
            int status = 0;
            while (true)
            {
                int at = 0;
                while (true)
                {
                    var e = core.Receive(input.AsSpan(at, held - at), Stopwatch.GetTimestamp(), out int used);
                    at += used;
                    if (e.Kind == Http2EventKind.NeedMoreData) break;
                    if (e.Kind == Http2EventKind.Headers && e.StreamId == id) status = e.Section!.Status;
                    if (e.Kind == Http2EventKind.StreamClosed && e.StreamId == id)
                    {
                        Compact(at);
                        Flush();
                        return e.Outcome == HttpOutcome.Completed ? status : -1;
                    }
                }

                Compact(at);
                Flush();
                int n = socket.Receive(input, held, input.Length - held, SocketFlags.None);
                if (n == 0) throw new IOException("the server closed the connection");
                held += n;
            }
        }

        private void Compact(int used)
        {
            input.AsSpan(used, held - used).CopyTo(input);
            held -= used;
        }

        private void Flush()
        {
            if (output.WrittenCount == 0) return;
            socket.Send(output.WrittenSpan);
            output.ResetWrittenCount();
        }
    }
}
