using System.Net.Sockets;
using System.Text;
using static Meerkat.Tests.Core.LoopbackPeer;

namespace Meerkat.Tests.Core;

/// <summary>
/// The epoll loop's batched socket calls (io_uring, <see cref="ManagerOptions.BatchSocketCalls"/>):
/// reads and writes of connections ready in the same iteration go to the kernel together, and
/// everything a user sees is what one call per socket gives: every byte, in order, no event after a
/// close, a full socket waiting for room.
/// </summary>
[Collection(Serial.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SocketBatchTests
{
    private const int Clients = 16;

    /// <summary>Skips where the batch cannot exist (not Linux, or io_uring refused) unless under CI.</summary>
    private static bool BatchAvailable(Manager manager)
    {
        if (OperatingSystem.IsLinux() && manager.Batch is not null) return true;
        Assert.False(Environment.GetEnvironmentVariable("CI") == "true" && OperatingSystem.IsLinux(), "io_uring is refused on this CI machine");
        Assert.Skip("no io_uring here: the loop makes one call per socket");
        return false;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Connections_ready_together_are_read_and_answered_in_batches_and_every_byte_arrives(bool batching)
    {
        using var manager = Loop.Create(PollerBackend.Epoll, o => o.BatchSocketCalls = batching);
        if (batching) BatchAvailable(manager);
        else Assert.Null(manager.Batch);
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.Read) return;
            Assert.True(c.Send(c.Received));
            c.Consume(c.Received.Length);
        });
        var clients = Enumerable.Range(0, Clients).Select(_ => Connect(listener)).ToArray();
        manager.Until(() => manager.Connections.Count == Clients + 1, what: "every client to be accepted");
        const int Rounds = 40;
        for (int round = 0; round < Rounds; round++)
        {
            // Every client writes before the loop looks: their connections are ready in the same
            // iteration (loopback delivers within the send), so their reads and answers are batched.
            for (int i = 0; i < Clients; i++) clients[i].Send(Message(round, i));
            var replies = clients.Select((client, i) => Task.Run(() => ReadExactly(client, Message(round, i).Length))).ToArray();
            manager.Until(() => replies.All(r => r.IsCompleted), what: $"round {round}'s echoes");
            for (int i = 0; i < Clients; i++) Assert.Equal(Encoding.ASCII.GetString(Message(round, i)), Encoding.ASCII.GetString(replies[i].Result));
        }
        if (!batching) return;
        // Each round's 16 reads and 16 writes went to the kernel in a handful of calls, not 32.
        long operations = manager.Batch!.Operations, submissions = manager.Batch.Submissions;
        Assert.True(operations >= Rounds * Clients, $"only {operations} of {2 * Rounds * Clients} reads and writes were batched");
        Assert.True(submissions * 4 <= operations, $"{operations} operations took {submissions} submissions");
        foreach (var client in clients) client.Dispose();
    }

    /// <summary>Batched writes to peers that stopped reading come back short, then would-block: the
    /// rest waits in the send buffer for room, and every byte arrives in order once they read.</summary>
    [Fact]
    public void Batched_writes_to_peers_that_stopped_reading_wait_for_room_and_lose_nothing()
    {
        const int Chunk = 12 * 1024; // under the batch's 16 KiB slot: every write of it is batched
        const int PerConnection = 341 * Chunk; // about 4 MiB
        using var manager = Loop.Create(PollerBackend.Epoll);
        BatchAvailable(manager);
        var chunk = new byte[Chunk];
        var sent = new Dictionary<long, int>();
        void Produce(Connection c)
        {
            // One chunk at a time, only when the previous one is written: the write stays batchable.
            if (c.SendBufferedBytes > 0 || sent.GetValueOrDefault(c.Id) >= PerConnection) return;
            int offset = sent.GetValueOrDefault(c.Id);
            for (int i = 0; i < Chunk; i++) chunk[i] = (byte)((offset + i) % 251);
            Assert.True(c.Send(chunk));
            sent[c.Id] = offset + Chunk;
        }
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind is EventKind.Accept or EventKind.Write) Produce(c);
        });
        const int Peers = 8;
        var peers = Enumerable.Range(0, Peers).Select(_ => Connect(listener, receiveBuffer: 32 * 1024)).ToArray();
        // Until every server side is blocked on a full socket with bytes still queued.
        manager.Until(() => manager.Connections.Count == Peers + 1
            && manager.Connections.Where(c => c.Role != ConnectionRole.Listener).All(c => !c.WriteReady && c.SendBufferedBytes > 0),
            what: "every connection to fill its peer's socket");
        long before = manager.Batch!.Operations;
        var readers = peers.Select(peer => Task.Run(() =>
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            while (total < PerConnection)
            {
                int n = peer.Receive(buffer);
                if (n == 0) throw new EndOfStreamException($"the stream ended after {total} bytes");
                for (int i = 0; i < n; i++)
                    if (buffer[i] != (byte)((total + i) % 251)) throw new InvalidDataException($"byte {total + i} is wrong");
                total += n;
            }
            return total;
        })).ToArray();
        manager.Until(() => readers.All(r => r.IsCompleted), TimeSpan.FromSeconds(60), "every peer to read its 4 MiB");
        foreach (var reader in readers) Assert.Equal(PerConnection, reader.Result);
        Assert.True(manager.Batch.Operations > before, "no write went through the batch after the peers began reading");
        foreach (var peer in peers) peer.Dispose();
    }

    /// <summary>A handler closing (or draining) another connection whose read the batch already made:
    /// that connection gets no Read after the call (the lifecycle checker enforces it too), and its
    /// Close comes.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_connection_closed_by_another_handler_after_its_batched_read_gets_no_read(bool drain)
    {
        using var manager = Loop.Create(PollerBackend.Epoll);
        BatchAvailable(manager);
        var closedByOther = new HashSet<long>();
        var readAfterClose = new List<long>();
        var server = new List<Connection>();
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.Accept) server.Add(c);
            if (e.Kind != EventKind.Read) return;
            if (closedByOther.Contains(c.Id)) readAfterClose.Add(c.Id);
            c.Consume(c.Received.Length);
            foreach (var other in server)
            {
                if (other == c || other.State >= ConnectionState.Draining) continue;
                closedByOther.Add(other.Id);
                if (drain) other.CloseAfterDrain();
                else other.Close();
            }
        });
        var clients = Enumerable.Range(0, 4).Select(_ => Connect(listener)).ToArray();
        manager.Until(() => server.Count == clients.Length, what: "every client to be accepted");
        long before = manager.Batch!.Operations;
        foreach (var client in clients) client.Send("hello"u8);
        manager.Until(() => closedByOther.Count == clients.Length - 1, what: "one connection's handler to close the others");
        foreach (var client in clients) client.Dispose();
        manager.Until(() => manager.Connections.Count == 1, what: "every connection to close");
        Assert.Empty(readAfterClose);
        Assert.True(manager.Batch.Operations > before, "the four reads were not batched");
    }

    private static byte[] Message(int round, int client) => Encoding.ASCII.GetBytes($"round {round} client {client} {new string('x', client * 37)}");
}
