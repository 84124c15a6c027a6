using System.Diagnostics;
using System.Net.Sockets;

namespace Meerkat.Tests.Core;

[Collection(Serial.Name)]
public class StreamingTests
{
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_256_MiB_stream_to_a_slow_reader_stays_within_its_send_buffer_bound(PollerBackend backend)
    {
        const long Total = 256L * 1024 * 1024;
        const int Chunk = 64 * 1024;
        const int HighWater = 256 * 1024;
        using var manager = Loop.Create(backend, o => o.SendHighWaterMark = HighWater);
        var chunk = new byte[Chunk];
        for (int i = 0; i < Chunk; i++) chunk[i] = (byte)i;
        long sent = 0;
        int maxBuffered = 0;
        void Produce(Connection c)
        {
            while (c.IsWritable && sent < Total)
            {
                Assert.True(c.Send(chunk));
                sent += Chunk;
            }
            maxBuffered = Math.Max(maxBuffered, c.SendBufferedBytes);
            if (sent == Total) c.CloseAfterDrain();
        }
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind is EventKind.Accept or EventKind.Write) Produce(c);
        });
        GC.Collect();
        long before = Process.GetCurrentProcess().WorkingSet64;
        long peak = before;
        var reader = Task.Run(() =>
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
            peer.Connect(listener.LocalEndPoint!);
            var buffer = new byte[4096];
            long total = 0;
            int n;
            while ((n = peer.Receive(buffer)) > 0)
            {
                for (int i = 0; i < n; i++)
                    if (buffer[i] != (byte)(total + i)) throw new InvalidDataException($"byte {total + i} is wrong");
                total += n;
            }
            return total;
        });
        manager.Until(() =>
        {
            peak = Math.Max(peak, Environment.WorkingSet);
            return reader.IsCompleted;
        }, TimeSpan.FromSeconds(120), "the reader to finish");
        Assert.Equal(Total, reader.Result);
        // The bound: one chunk over the high-water mark in the send buffer, and the process
        // grows by less than 64 MiB while 256 MiB pass through it.
        Assert.True(maxBuffered <= HighWater + Chunk, $"send buffer reached {maxBuffered} bytes");
        Assert.True(peak - before < 64L * 1024 * 1024, $"process grew by {(peak - before) >> 20} MiB");
    }

    /// <summary>Reads adapt to the traffic: a bulk transfer is read in pieces of up to 256 KiB
    /// (not 16 KiB: one loop iteration per piece), and once it is consumed the idle connection
    /// holds no large buffer.</summary>
    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_bulk_transfer_is_read_in_large_pieces_and_leaves_no_large_buffer_behind(PollerBackend backend)
    {
        const int Total = 64 * 1024 * 1024;
        using var manager = Loop.Create(backend);
        long received = 0;
        int largest = 0;
        bool ordered = true;
        Connection? server = null;
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.Accept) server = c;
            if (e.Kind != EventKind.Read) return;
            var data = c.Received;
            // Each 4 KiB page starts with its number (mod 256).
            for (int i = (int)((4096 - received % 4096) % 4096); i < data.Length; i += 4096)
                ordered &= data[i] == (byte)((received + i) / 4096);
            largest = Math.Max(largest, data.Length);
            received += data.Length;
            c.Consume(data.Length);
        });
        var writer = Task.Run(() =>
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            peer.Connect(listener.LocalEndPoint!);
            var block = new byte[1024 * 1024];
            for (int sent = 0; sent < Total; sent += block.Length)
            {
                for (int page = 0; page < block.Length; page += 4096) block[page] = (byte)((sent + page) / 4096);
                peer.Send(block);
            }
            peer.Shutdown(SocketShutdown.Send);
            peer.Receive(new byte[1]); // until the server closes
        });
        manager.Until(() => received == Total, TimeSpan.FromSeconds(60), "the whole transfer");
        Assert.True(ordered, "the bytes arrived in order");
        Assert.True(largest > 64 * 1024, $"the largest read was {largest} bytes");
        Assert.True(largest <= 256 * 1024, $"the largest read was {largest} bytes");
        Assert.True(server!.ReceiveBuffer.Capacity <= 16 * 1024, $"the idle connection holds a {server.ReceiveBuffer.Capacity}-byte buffer");
        server.Close();
        manager.Until(writer);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Reading_pauses_while_the_send_buffer_is_over_its_high_water_mark(PollerBackend backend)
    {
        // An echo server whose peer never reads: the server must stop reading, not buffer forever.
        using var manager = Loop.Create(backend, o => { o.SendHighWaterMark = 128 * 1024; o.MaxSendBufferSize = 4 * 1024 * 1024; });
        Connection? accepted = null;
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.Accept) accepted = c;
            if (e.Kind != EventKind.Read) return;
            Assert.True(c.Send(c.Received), "the echo must never hit the hard send limit");
            c.Consume(c.Received.Length);
        });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 32 * 1024 };
        peer.Connect(listener.LocalEndPoint!);
        peer.Blocking = false;
        var block = new byte[64 * 1024];
        long pushed = 0;
        int stalls = 0;
        manager.Until(() =>
        {
            int n = peer.Send(block, SocketFlags.None, out var error);
            if (error == SocketError.Success) { pushed += n; stalls = 0; }
            else stalls++;
            return stalls > 50;
        }, what: "the peer's writes to stall");
        Assert.NotNull(accepted);
        Assert.True(accepted!.SendBufferedBytes <= 128 * 1024 + 1024 * 1024, $"send buffer {accepted.SendBufferedBytes}");
        Assert.True(pushed < 64L * 1024 * 1024, "the server stopped reading");
        Assert.Equal(ConnectionState.Connected, accepted.State);
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Ten_thousand_connect_close_cycles_leave_no_file_descriptor_behind(PollerBackend backend)
    {
        if (!Directory.Exists("/proc/self/fd")) Assert.Skip("counting descriptors needs /proc/self/fd (Linux)");
        const int Cycles = 10_000, Parallel = 64;
        using var manager = Loop.Create(backend);
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) => { if (e.Kind == EventKind.Read) c.Close(); });
        string url = $"tcp://127.0.0.1:{listener.LocalEndPoint!.Port}";
        int started = 0, closed = 0, target = 0;
        void Start()
        {
            started++;
            manager.Connect(url, (c, e) =>
            {
                if (e.Kind == EventKind.Connect) c.Send("bye"u8);
                if (e.Kind != EventKind.Close) return;
                closed++;
                if (started < target) Start();
            });
        }
        void Cycle(int count)
        {
            target += count;
            for (int i = 0; i < Parallel; i++) Start();
            manager.Until(() => closed == target && manager.Connections.Count == 1, TimeSpan.FromSeconds(120), "every cycle to close");
        }
        // A first round lets the runtime open what it opens once; and only sockets and event
        // descriptors count: the runtime maps assemblies it loads lazily as descriptors too.
        Cycle(Parallel);
        int before = NetworkDescriptors();
        Cycle(Cycles);
        Assert.Equal(before, NetworkDescriptors());
    }

    private static int NetworkDescriptors()
    {
        // Sockets other tests left to the finalizer must not close in the middle of the count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Directory.GetFiles("/proc/self/fd").Count(fd =>
            new FileInfo(fd).LinkTarget is { } target && (target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("anon_inode:", StringComparison.Ordinal)));
    }
}
