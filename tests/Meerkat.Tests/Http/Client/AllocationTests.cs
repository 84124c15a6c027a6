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
        const int WarmUp = 2_000, Measured = 5_000;
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.Listen();
        var server = Task.Run(() => Serve(peer));
        using var manager = Loop.Create(PollerBackend.Epoll, o => o.CheckInvariants = false);
        using var client = new MeerkatHttpClient(manager);
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
        // The response head (HttpResponse), the body pipe (ResponseBodyStream: its lock, queue and
        // queue array) and the HttpClientResponse handed to the caller; header strings and the
        // header array are reused from the previous response (same bytes), the body segment is
        // pooled, the exchange is the caller's.
        // 432 bytes on .NET 10 (x64), per request, exactly. When the machine is loaded and the caller
        // runs in a burst while the loop waits, an internal queue may grow once in the window
        // (40-80 bytes, once, not per request): a one-off below 1 KiB is allowed, a per-request
        // byte more (5,000 bytes) is not.
        Assert.InRange(allocated - 432L * Measured, 0, 1023);
        _ = server;
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
