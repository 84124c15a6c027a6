using System.Net.Sockets;
using Meerkat.Diagnostics;
using Meerkat.Polling;

namespace Meerkat;

/// <summary>
/// Byte-stream (TCP) reads and writes of the loop's ready and write phases: one read per ready
/// connection, one write per connection with queued bytes, the end of the peer's stream, and the
/// lingering close of a draining connection (write what is queued, half-close, read and discard).
/// </summary>
/// <remarks>
/// <para>Loop thread only. Reads go to <see cref="Connection.SocketInbound"/> (ciphertext under TLS,
/// which the security layer turns into plaintext and its own Read events) and writes take
/// <see cref="Connection.SocketOutbound"/>; a socket is a real <see cref="Socket"/> or, on the virtual
/// network, a <see cref="Polling.VirtualSocket"/>.</para>
/// <para>Readiness is remembered in the connection (<see cref="Connection.ReadReady"/>,
/// <see cref="Connection.WriteReady"/>): a read that fills what it asked for reads again next
/// iteration; a short read clears readiness unless the peer hung up (then it reads on to the end of
/// stream); would-block clears it.</para>
/// <para>A draining connection's input is read into <c>scratch</c> (the manager's, shared with
/// datagram reads) and discarded.</para>
/// </remarks>
internal sealed class StreamIO(Manager manager, PhaseQueues queues, byte[] scratch, SocketBatch? batch)
{
    internal const int MinReadSize = 16 * 1024;
    private const int MaxReadSize = 256 * 1024;

    /// <summary>The batch slot of each entry of the ready list whose read was staged (-1: none), valid
    /// for the first <see cref="stagedReady"/> entries until the next <see cref="StageReads"/>.</summary>
    private int[] slotOfReady = [];
    private int stagedReady;

    /// <summary>Input wanted per iteration: when reads are large (pipelined requests, uploads), the loop
    /// takes fewer ready connections per wait, so their answers are written while the other peers'
    /// requests are still being read, instead of after every connection was served (pipelined req/s
    /// +10–15 % with 64 connections; bench/README).</summary>
    private const int InputPerIteration = 16 * 1024;

    /// <summary>Ready connections per wait never drop below this, so reads and writes still go to the
    /// kernel in batches worth their call.</summary>
    private const int MinReadyPerIteration = 16;

    /// <summary>Reads made and bytes they brought in the current ready phase.</summary>
    private int phaseReads;
    private long phaseBytes;

    /// <summary>How many ready connections the next wait should take (<see cref="Poller.EventLimit"/>):
    /// about <see cref="InputPerIteration"/> bytes' worth at the ready phase's bytes per read, at least
    /// <see cref="MinReadyPerIteration"/> and an eighth of the <paramref name="connections"/> (every
    /// iteration raises Poll on each of them: with thousands busy, smaller iterations would cost more
    /// than they give); <paramref name="current"/> when the phase read nothing.</summary>
    public int NextReadyLimit(int current, int connections)
    {
        if (phaseReads == 0) return current;
        long byInput = InputPerIteration * (long)phaseReads / phaseBytes;
        int floor = Math.Max(MinReadyPerIteration, connections / 8);
        return (int)Math.Min(int.MaxValue, Math.Max(byInput, floor));
    }

    /// <summary>The write queue's connections whose bytes were staged in the batch, with their slots.</summary>
    private readonly List<(Connection Connection, int Slot)> stagedWrites = [];

    /// <summary>True when reads and writes of many sockets go to the kernel together (Linux, io_uring).</summary>
    [System.Runtime.Versioning.SupportedOSPlatformGuard("linux")]
    private bool Batching => OperatingSystem.IsLinux() && batch is not null && !batch.IsBroken;

    /// <summary>The ready phase's first step: the reads of two or more ready connections go to the
    /// kernel as one batch (<see cref="SocketBatch"/>); <see cref="Read(Connection, int)"/> then delivers
    /// each in turn as if it had just been read. Listeners, datagram sockets, connects in progress,
    /// draining and paused connections, and reads of more than a slot (16 KiB) are not batched: they are
    /// read one by one as before.</summary>
    public void StageReads(List<Connection> ready)
    {
        stagedReady = 0;
        phaseReads = 0;
        phaseBytes = 0;
        if (!Batching || ready.Count < 2) return;
        if (slotOfReady.Length < ready.Count) slotOfReady = new int[Math.Max(ready.Count, 2 * slotOfReady.Length)];
        for (int i = 0; i < ready.Count; i++)
        {
            var connection = ready[i];
            slotOfReady[i] = -1;
            if (batch!.Count == SocketBatch.Capacity || !CanBatchRead(connection)) continue;
            var buffer = connection.SocketInbound;
            slotOfReady[i] = batch.AddReceive(Transport.DescriptorOf(connection), Math.Min(connection.ReadSize, buffer.Limit - buffer.Length));
        }
        if (batch!.Count < 2)
        {
            batch.Clear(); // a lone read is as cheap as a call of its own: made in the ready phase
            return;
        }
        stagedReady = ready.Count;
        batch.Run();
    }

    private static bool CanBatchRead(Connection connection) =>
        connection.ReadReady && !connection.IsDatagram && connection.Role != ConnectionRole.Listener && connection.Virtual is null
        && connection.Stage != ConnectionStage.Connecting && connection.State is < ConnectionState.Closing and not ConnectionState.Draining
        && !connection.IsReadPaused && connection.ReadSize <= SocketBatch.SlotSize
        && connection.SocketInbound.Limit > connection.SocketInbound.Length;

    /// <summary>Reads entry <paramref name="readyIndex"/> of the ready list: delivers what the batch
    /// read for it, or reads it now.</summary>
    public void Read(Connection connection, int readyIndex)
    {
        if (readyIndex < stagedReady && slotOfReady[readyIndex] >= 0 && Batching) Deliver(connection, slotOfReady[readyIndex]);
        else Read(connection);
    }

    /// <summary>A batched read's outcome, delivered in the ready list's order. The connection may have
    /// changed since it was staged (an earlier connection's handler closed or paused it): bytes read
    /// for a closed connection are dropped with it, a draining one discards them as it would have,
    /// and a paused one still gets what was read for it (pausing stops reading, not delivering).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private void Deliver(Connection connection, int slot)
    {
        int result = batch!.Result(slot);
        int n = Math.Max(result, 0);
        var error = result >= 0 ? SocketError.Success : Transport.ErrorOf(-result);
        if (connection.State == ConnectionState.Draining)
        {
            Discarded(connection, n, error);
            return;
        }
        if (!Received(connection, batch.Length(slot), n, error)) return;
        if (!connection.SocketInbound.Append(batch.Data(slot)))
        {
            manager.Fail(connection, new MeerkatException("receive failed: the batched read no longer fits the receive buffer"));
            return;
        }
        Raise(connection, n);
    }

    /// <summary>Reads once from a ready connection, and raises what it read (through the security
    /// layer when there is one). A draining connection's input is discarded.</summary>
    public void Read(Connection connection)
    {
        if (connection.State == ConnectionState.Draining)
        {
            Discard(connection);
            return;
        }
        if (connection.IsReadPaused) return;
        var buffer = connection.SocketInbound;
        var span = buffer.GetWriteSpan(connection.ReadSize);
        if (span.IsEmpty) return;
        int n = Receive(connection, span, out var error);
        if (!Received(connection, span.Length, n, error)) return;
        buffer.Advance(n);
        Raise(connection, n);
    }

    /// <summary>A read's outcome, before its bytes are committed: would-block, failure and the end of the
    /// stream are handled here (false); for data (true) the read size adapts and readiness is kept.</summary>
    private bool Received(Connection connection, int asked, int n, SocketError error)
    {
        if (error == SocketError.WouldBlock) { connection.ReadReady = false; return false; }
        if (error != SocketError.Success) { manager.Fail(connection, Transport.Error("receive failed", error)); return false; }
        if (n == 0) { EndOfStream(connection); return false; }
        ConnectionTelemetry.Received(manager.Metrics, connection, n);
        phaseReads++;
        phaseBytes += n;
        var buffer = connection.SocketInbound;
        // Adaptive read size: a read that filled its span asks for twice as much next time (a bulk
        // transfer then costs a read and a loop iteration per 256 KiB, not per 16 KiB); reads that
        // come back mostly empty shrink it again. The buffer still holds no more than it must:
        // a large array goes back to the pool as soon as the protocol consumes it.
        if (n == asked) connection.ReadSize = Math.Min(connection.ReadSize * 2, Math.Min(MaxReadSize, buffer.Limit));
        else if (n < connection.ReadSize / 4) connection.ReadSize = Math.Max(connection.ReadSize / 2, MinReadSize);
        // A full read may have left more behind; after a short one an edge-triggered backend
        // reports new data, except the end of stream it already announced (PeerHangup).
        connection.ReadReady = n == asked || connection.PeerHangup;
        if (connection.ReadReady) queues.ScheduleRead(connection);
        return true;
    }

    /// <summary>Raises the <paramref name="n"/> bytes just committed to the inbound buffer (through the
    /// security layer when there is one).</summary>
    private void Raise(Connection connection, int n)
    {
        var buffer = connection.SocketInbound;
        if (connection.Security is { } security) security.OnReceived(connection);
        else manager.Raise(connection, new Event(EventKind.Read, buffer.Span[^n..]));
        connection.ReceiveBuffer.ReleaseIfEmpty(); // the handlers are done with it: an idle connection holds no buffer
    }

    /// <summary>Writes the connection's outbound bytes once and raises <see cref="EventKind.Write"/>
    /// with the count; a reader paused by backpressure resumes once the buffer is under the mark.</summary>
    public void Write(Connection connection)
    {
        var buffer = connection.SocketOutbound;
        int n = connection.Virtual is { } link ? link.Send(buffer.Span, out var error) : Transport.Send(connection, buffer.Span, out error);
        Wrote(connection, buffer.Length, n, error);
    }

    /// <summary>The writes phase for a connection with bytes to write: stages them in the batch when
    /// batching (true: <see cref="RunStagedWrites"/> finishes it), else writes them now (false).</summary>
    public bool StageWrite(Connection connection)
    {
        if (!Batching || connection.Virtual is not null || stagedWrites.Count == SocketBatch.Capacity) return false;
        var data = connection.SocketOutbound.Span;
        if (data.Length > SocketBatch.SlotSize) return false;
        stagedWrites.Add((connection, batch!.AddSend(Transport.DescriptorOf(connection), data)));
        return true;
    }

    /// <summary>Sends what <see cref="StageWrite"/> staged, with one system call for all of them (a
    /// lone write is made on its own), then completes each write and drain as <see cref="Write"/> and
    /// <see cref="AfterWrite"/> would have.</summary>
    public void RunStagedWrites()
    {
        if (stagedWrites.Count == 0 || !OperatingSystem.IsLinux()) return;
        if (stagedWrites.Count == 1)
        {
            batch!.Clear();
            var lone = stagedWrites[0].Connection;
            stagedWrites.Clear();
            if (lone.State < ConnectionState.Closing) { Write(lone); AfterWrite(lone); }
            return;
        }
        // A handler raised while staging (a Write event of a connection written on its own) may have
        // closed a connection whose bytes are staged: they still go, as they would have gone before
        // that handler ran without the batch (its descriptor closes after this phase).
        batch!.Run();
        foreach (var (connection, slot) in stagedWrites)
        {
            if (connection.State >= ConnectionState.Closing) continue;
            int result = batch.Result(slot);
            Wrote(connection, batch.Length(slot), Math.Max(result, 0), result >= 0 ? SocketError.Success : Transport.ErrorOf(-result));
            AfterWrite(connection);
        }
        stagedWrites.Clear();
    }

    /// <summary>A draining connection whose bytes are all written finishes draining.</summary>
    public void AfterWrite(Connection connection)
    {
        if (connection.State == ConnectionState.Draining && connection.SendBuffer.IsEmpty && connection.SocketOutbound.IsEmpty) FinishDrain(connection);
    }

    /// <summary>A write's outcome: <paramref name="n"/> of the <paramref name="attempted"/> bytes at the
    /// start of the outbound buffer were written. A short write means the socket is full: wait for it.</summary>
    private void Wrote(Connection connection, int attempted, int n, SocketError error)
    {
        var buffer = connection.SocketOutbound;
        if (error == SocketError.WouldBlock) { connection.WriteReady = false; return; }
        if (error != SocketError.Success) { manager.Fail(connection, Transport.Error("send failed", error)); return; }
        ConnectionTelemetry.Sent(manager.Metrics, connection, n);
        bool wasPaused = connection.IsReadPaused;
        buffer.Consume(n);
        buffer.ReleaseIfEmpty();
        if (n < attempted) connection.WriteReady = false;
        if (wasPaused && !connection.IsReadPaused && connection.ReadReady) queues.ScheduleRead(connection);
        manager.Raise(connection, new Event(EventKind.Write, count: n));
    }

    /// <summary>A draining connection's send buffer is written: half-close and linger, reading and
    /// discarding until the peer closes or <see cref="ManagerOptions.LingerTimeout"/> passes; close at
    /// once when the peer has closed already or lingering is off.</summary>
    public void FinishDrain(Connection connection)
    {
        if (connection.Stage == ConnectionStage.HalfClosed) return;
        var linger = manager.Options.LingerTimeout;
        if (connection.IsPeerClosed || linger == TimeSpan.Zero)
        {
            connection.Close();
            return;
        }
        connection.Stage = ConnectionStage.HalfClosed;
        if (connection.Virtual is { } link) link.ShutdownSend();
        else Transport.ShutdownSend(connection);
        var timer = manager.AddTimer(linger, TimeSpan.Zero, _ => connection.Close(), null);
        connection.DeadlineTimer?.Cancel();
        connection.DeadlineTimer = timer;
        if (connection.ReadReady) queues.ScheduleRead(connection);
    }

    /// <summary>The peer's stream ended (after all its plaintext was delivered): tell the protocol,
    /// then close once the send buffer is written.</summary>
    public static void PeerClosed(Connection connection)
    {
        if (connection.State >= ConnectionState.Closing) return;
        connection.IsPeerClosed = true;
        if (connection.Protocol?.OnEndOfStream(connection) == true) return;
        if (connection.SendBuffer.IsEmpty && connection.SocketOutbound.IsEmpty) connection.Close();
        else connection.CloseAfterDrain();
    }

    private void Discard(Connection connection)
    {
        int n = Receive(connection, scratch, out var error);
        Discarded(connection, n, error);
    }

    /// <summary>A draining connection's read, its bytes thrown away: read on until would-block; the end
    /// of the stream or a failure closes it.</summary>
    private void Discarded(Connection connection, int n, SocketError error)
    {
        if (error == SocketError.WouldBlock) { connection.ReadReady = false; return; }
        if (n == 0 || error != SocketError.Success) { connection.IsPeerClosed = true; connection.Close(); return; }
        queues.ScheduleRead(connection);
    }

    private static void EndOfStream(Connection connection)
    {
        connection.ReadReady = false;
        // Under TLS the layer first delivers the plaintext it still holds, then calls PeerClosed.
        if (connection.Security is { } security) security.OnTransportEnd(connection);
        else PeerClosed(connection);
    }

    private static int Receive(Connection connection, Span<byte> span, out SocketError error) =>
        connection.Virtual is { } link ? link.Receive(span, out error) : Transport.Receive(connection, span, out error);
}
