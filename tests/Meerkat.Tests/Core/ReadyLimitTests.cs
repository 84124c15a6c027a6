using System.Net.Sockets;
using static Meerkat.Tests.Core.LoopbackPeer;

namespace Meerkat.Tests.Core;

/// <summary>
/// How many ready connections an epoll iteration takes: all of them when reads are small (keep-alive
/// requests, whose batched reads and writes are what makes them cheap), fewer when reads are large
/// (pipelined requests, uploads), so the first connections' answers are written while the others'
/// input still waits instead of after every connection was served.
/// </summary>
[Collection(Serial.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ReadyLimitTests
{
    /// <param name="clients">How many connections are busy.</param>
    /// <param name="limit">The wait's limit after large reads: 16 connections, or an eighth of them
    /// when there are many (each iteration raises Poll on every connection, so iterations may not shrink
    /// without bound).</param>
    [Theory]
    [InlineData(48, 16)]
    [InlineData(200, 25)]
    public void When_reads_are_large_an_iteration_answers_some_connections_before_reading_the_rest(int clients, int limit)
    {
        using var manager = Loop.Create(PollerBackend.Epoll);
        long received = 0;
        int reads = 0;
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.Read) return;
            reads++;
            received += c.Received.Length;
            Assert.True(c.Send(c.Received));
            c.Consume(c.Received.Length);
        });
        var sockets = Enumerable.Range(0, clients).Select(_ => Connect(listener)).ToArray();
        manager.Until(() => manager.Connections.Count == clients + 1, what: "every client to be accepted");

        // Small reads (a keep-alive request each): the limit stays above the connection count, an iteration takes every ready one.
        var small = Burst(48, 1);
        Round(manager, sockets, small, () => received);
        Assert.True(manager.ReadyLimit >= clients, $"a wait takes at most {manager.ReadyLimit} connections after small reads");

        // Large reads (16 pipelined requests' worth each): the next wait takes fewer connections.
        var large = Burst(2048, 2);
        Round(manager, sockets, large, () => received);
        Assert.Equal(limit, manager.ReadyLimit);

        foreach (var socket in sockets) socket.Send(large);
        int readsBefore = reads;
        int taken = manager.Poll(10_000);
        Assert.InRange(taken, 1, limit);
        int served = reads - readsBefore; // all of them, unless a connection's bytes were still on their way
        Assert.InRange(served, 1, taken);
        // The connections it read are answered now; the others' input has not even been read.
        var answered = AwaitReadable(sockets, served, TimeSpan.FromSeconds(10));
        Assert.Equal(served, answered.Count);
        Assert.All(sockets.Except(answered), c => Assert.Equal(0, c.Available));

        // And the rest follow in the next iterations, every byte in order.
        var echoes = sockets.Select(c => Task.Run(() => ReadExactly(c, large.Length))).ToArray();
        manager.Until(() => echoes.All(e => e.IsCompleted), what: "every echo");
        Assert.All(echoes, e => Assert.Equal(large, e.Result));
        foreach (var socket in sockets) socket.Dispose();
    }

    /// <summary>Every client sends <paramref name="burst"/>; the loop runs until all of it was read and echoed.</summary>
    private static void Round(Manager manager, Socket[] clients, byte[] burst, Func<long> received)
    {
        long target = received() + (long)clients.Length * burst.Length;
        foreach (var client in clients) client.Send(burst);
        var echoes = clients.Select(c => Task.Run(() => ReadExactly(c, burst.Length))).ToArray();
        manager.Until(() => received() == target && echoes.All(e => e.IsCompleted), what: "the round's echoes");
        Assert.All(echoes, e => Assert.Equal(burst, e.Result));
    }

    /// <summary>Waits (Select) until <paramref name="count"/> of the sockets have something to read, or the time is up.</summary>
    private static HashSet<Socket> AwaitReadable(Socket[] sockets, int count, TimeSpan limit)
    {
        var readable = new HashSet<Socket>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (readable.Count < count && clock.Elapsed < limit)
        {
            var waiting = sockets.Where(s => !readable.Contains(s)).ToList();
            Socket.Select(waiting, null, null, Math.Max(1, (int)(limit - clock.Elapsed).TotalMicroseconds));
            readable.UnionWith(waiting);
        }
        return readable;
    }

    private static byte[] Burst(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
