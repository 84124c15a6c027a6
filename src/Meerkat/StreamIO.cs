using System.Net.Sockets;
using Meerkat.Diagnostics;

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
internal sealed class StreamIO(Manager manager, PhaseQueues queues, byte[] scratch)
{
    internal const int MinReadSize = 16 * 1024;
    private const int MaxReadSize = 256 * 1024;

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
        if (error == SocketError.WouldBlock) { connection.ReadReady = false; return; }
        if (error != SocketError.Success) { manager.Fail(connection, Transport.Error("receive failed", error)); return; }
        if (n == 0) { EndOfStream(connection); return; }
        ConnectionTelemetry.Received(manager.Metrics, connection, n);
        // Adaptive read size: a read that filled its span asks for twice as much next time (a bulk
        // transfer then costs a read and a loop iteration per 256 KiB, not per 16 KiB); reads that
        // come back mostly empty shrink it again. The buffer still holds no more than it must:
        // a large array goes back to the pool as soon as the protocol consumes it.
        if (n == span.Length) connection.ReadSize = Math.Min(connection.ReadSize * 2, Math.Min(MaxReadSize, buffer.Limit));
        else if (n < connection.ReadSize / 4) connection.ReadSize = Math.Max(connection.ReadSize / 2, MinReadSize);
        // A full read may have left more behind; after a short one an edge-triggered backend
        // reports new data, except the end of stream it already announced (PeerHangup).
        connection.ReadReady = n == span.Length || connection.PeerHangup;
        if (connection.ReadReady) queues.ScheduleRead(connection);
        buffer.Advance(n);
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
        if (error == SocketError.WouldBlock) { connection.WriteReady = false; return; }
        if (error != SocketError.Success) { manager.Fail(connection, Transport.Error("send failed", error)); return; }
        ConnectionTelemetry.Sent(manager.Metrics, connection, n);
        bool wasPaused = connection.IsReadPaused;
        buffer.Consume(n);
        buffer.ReleaseIfEmpty();
        if (!buffer.IsEmpty) connection.WriteReady = false;
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
