using System.Net;
using System.Net.Sockets;
using Meerkat.Http.Client;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Client;

/// <summary>What a keep-alive request through <see cref="MeerkatHttpClient"/> allocates on the loop
/// thread, measured exactly: the server answers with the same bytes every time, so nothing varies
/// between requests, and the requests come from another thread while this test's thread is the loop.</summary>
[Collection(Serial.Name)]
public class ClientAllocationTests
{
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"u8.ToArray();

    [Fact]
    public void A_keep_alive_GET_allocates_exactly_the_response_objects_on_the_loop_thread()
    {
        // The response head (HttpResponse), the body pipe (ResponseBodyStream: its lock, queue and
        // queue array) and the HttpClientResponse handed to the caller; header strings and the
        // header array are reused from the previous response (same bytes), the body segment is
        // pooled, the exchange is the caller's.
        // 432 bytes on .NET 10 (x64), per request, exactly. When the machine is loaded and the caller
        // runs in a burst while the loop waits, an internal queue may grow once in the window
        // (40-80 bytes, once, not per request): a one-off below 1 KiB is allowed, a per-request
        // byte more (5,000 bytes) is not.
        var (allocated, measured) = MeasureWarmGets(Serve, new MeerkatHttpClientOptions());
        Assert.InRange(allocated - 432L * measured, 0, 1023);
    }

    [Fact]
    public void A_GET_on_a_warm_pooled_http2_connection_allocates_exactly_its_stream_and_response_on_the_loop_thread()
    {
        // Per request: the stream (Http2ClientStream, its header list and their arrays, its upload
        // buffer object), the response head (HttpResponse and its header strings: HTTP/2 decodes
        // them anew), the body pipe and the HttpClientResponse. A one-off below 1 KiB is allowed as in
        // the HTTP/1.1 test; a per-request byte more is not.
        var (allocated, measured) = MeasureWarmGets(ServeHttp2,
            new MeerkatHttpClientOptions { Connection = new HttpClientConnectionOptions { Http2PriorKnowledge = true } });
        Assert.InRange(allocated - Http2BytesPerRequest * measured, 0, 1023);
    }

    /// <summary>Warms a client up on one connection to <paramref name="serve"/>, then counts what the
    /// loop thread (this one) allocates while another thread makes the measured GETs.</summary>
    private static (long Allocated, int Measured) MeasureWarmGets(Action<Socket> serve, MeerkatHttpClientOptions options)
    {
        const int WarmUp = 2_000, Measured = 5_000;
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.Listen();
        var server = Task.Run(() => serve(peer));
        using var manager = Loop.Create(PollerBackend.Epoll, o => o.CheckInvariants = false);
        using var client = new MeerkatHttpClient(manager, options);
        string url = $"http://127.0.0.1:{((IPEndPoint)peer.LocalEndPoint!).Port}/";
        int done = 0;
        var go = new SemaphoreSlim(0);
        var caller = Task.Run(async () =>
        {
            for (int round = 0; round < 2; round++)
            {
                await go.WaitAsync();
                for (int i = 0; i < (round == 0 ? WarmUp : Measured); i++)
                {
                    Assert.Equal(13, (await client.GetBytesAsync(url)).Length);
                    Interlocked.Increment(ref done);
                }
            }
        });
        go.Release();
        manager.Until(() => Volatile.Read(ref done) == WarmUp || caller.IsFaulted, TimeSpan.FromSeconds(60), "the warm-up requests");
        long before = GC.GetAllocatedBytesForCurrentThread();
        go.Release();
        // Polled inline: Until's delegate and stopwatch would be counted.
        long deadline = Environment.TickCount64 + 60_000;
        while (Volatile.Read(ref done) < WarmUp + Measured && !caller.IsFaulted && Environment.TickCount64 < deadline) manager.Poll(100);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        caller.GetAwaiter().GetResult();
        Assert.Equal(WarmUp + Measured, done);
        Assert.Equal(1, client.ConnectionsOpened);
        _ = server;
        return (allocated, Measured);
    }

    // 1,784 bytes on .NET 10 (x64), per request, exactly (the HTTP/1.1 path: 432).
    private const long Http2BytesPerRequest = 1_784;

    /// <summary>An h2c server answering every request with the same frames (literal fields, never indexed).</summary>
    private static void ServeHttp2(Socket listener)
    {
        using var socket = listener.Accept();
        using var stream = new NetworkStream(socket);
        var preface = new byte[24];
        stream.ReadExactly(preface);
        stream.Write(Meerkat.Tests.Http2.Raw.SettingsFrame());
        var header = new byte[9];
        var payload = new byte[1 << 16];
        var head = Meerkat.Tests.Http2.Raw.Response(200, ("content-length", "13"), ("content-type", "text/plain"));
        while (true)
        {
            try
            {
                stream.ReadExactly(header);
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException)
            {
                return;
            }

            int length = header[0] << 16 | header[1] << 8 | header[2];
            stream.ReadExactly(payload, 0, length);
            int id = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue;
            if (header[3] == Meerkat.Tests.Http2.Raw.Settings && (header[4] & 1) == 0) stream.Write(Meerkat.Tests.Http2.Raw.SettingsAck);
            if (header[3] == Meerkat.Tests.Http2.Raw.Headers)
                stream.Write(Meerkat.Tests.Http2.Raw.Concat(Meerkat.Tests.Http2.Raw.HeadersFrame(id, Meerkat.Tests.Http2.Raw.EndHeaders, head),
                    Meerkat.Tests.Http2.Raw.DataFrame(id, Meerkat.Tests.Http2.Raw.EndStream, "Hello, World!")));
        }
    }

    private static void Serve(Socket listener)
    {
        using var socket = listener.Accept();
        var buffer = new byte[4096];
        int held = 0;
        while (true)
        {
            int n = socket.Receive(buffer, held, buffer.Length - held, SocketFlags.None);
            if (n == 0) return;
            held += n;
            int end;
            while ((end = buffer.AsSpan(0, held).IndexOf("\r\n\r\n"u8)) >= 0)
            {
                socket.Send(Response);
                held -= end + 4;
                buffer.AsSpan(end + 4, held).CopyTo(buffer);
            }
        }
    }
}
