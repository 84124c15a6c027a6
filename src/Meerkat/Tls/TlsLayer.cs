using System.Net.Security;
using System.Runtime.CompilerServices;

namespace Meerkat.Tls;

/// <summary>
/// TLS on one connection: an <see cref="SslStream"/> over a <see cref="CiphertextStream"/>, driven
/// from the loop's phases. Loop thread only.
/// </summary>
/// <remarks>
/// <para>How it works: every entry point (<see cref="Start"/>, <see cref="OnReceived"/>,
/// <see cref="OnTransportEnd"/>, <see cref="OnWork"/>, <see cref="PrepareWrite"/>) lets SslStream run
/// as far as it can synchronously: the handshake and <see cref="Pump"/>'s reads resume inline when
/// <see cref="CiphertextStream.Feed"/> completes the read they wait on. Then <see cref="Settle"/>
/// raises what happened, in order: <see cref="EventKind.TlsHandshake"/>, one
/// <see cref="EventKind.Read"/> with all the plaintext made, <see cref="EventKind.Error"/>, or the
/// peer's end of stream. Events are never raised from inside SslStream's continuations.</para>
/// <para>Three phase enums, each value's comment naming its legal successors: the handshake
/// (<see cref="HandshakePhase"/>), reading (<see cref="ReadPhase"/>) and writing
/// (<see cref="WritePhase"/>). End of stream reaches the protocol only once reading has ended (all
/// plaintext delivered, DESIGN.md §4.3), once: <see cref="Manager.PeerClosed"/> marks the connection
/// <see cref="Connection.IsPeerClosed"/>.</para>
/// </remarks>
internal sealed class TlsLayer : SecurityLayer
{
    /// <summary>Ordered: <c>&gt;= Done</c> means established.</summary>
    private enum HandshakePhase
    {
        /// <summary>The transport is not up yet. Next: Running (Start), Failed (the peer closed first).</summary>
        NotStarted,
        /// <summary>SslStream is authenticating. Next: Done, Failed (refused, timed out, cut).</summary>
        Running,
        /// <summary>The handshake failed; the connection fails with the reason. Final.</summary>
        Failed,
        /// <summary>Established; <see cref="EventKind.TlsHandshake"/> not raised yet. Next: Announced.</summary>
        Done,
        /// <summary>Established and <see cref="EventKind.TlsHandshake"/> raised. Final.</summary>
        Announced,
    }

    /// <summary>Ordered: <c>&gt;= Ended</c> means the peer's stream is over.</summary>
    private enum ReadPhase
    {
        /// <summary>May read. Next: Waiting, Stalled, Ended, CloseNotified.</summary>
        Idle,
        /// <summary>SslStream waits for ciphertext. Next: Idle (a record completed).</summary>
        Waiting,
        /// <summary>The receive buffer is full. Next: Idle (the application consumed).</summary>
        Stalled,
        /// <summary>The transport ended (possibly inside a record: a truncation the protocol's framing
        /// judges) or reading failed; all plaintext delivered. Final.</summary>
        Ended,
        /// <summary>The peer's close_notify was read; all plaintext delivered. Final.</summary>
        CloseNotified,
    }

    private enum WritePhase
    {
        /// <summary>May encrypt. Next: Writing, ShutDown.</summary>
        Ready,
        /// <summary>An SslStream write did not complete synchronously. Next: Ready (it completed).</summary>
        Writing,
        /// <summary>close_notify sent (draining, everything written). Final.</summary>
        ShutDown,
    }

    private const int ChunkSize = 16 * 1024;

    private readonly Connection connection;
    private readonly IoBuffer inbound;
    private readonly IoBuffer outbound;
    private readonly CiphertextStream stream;
    private readonly SslStream ssl;
    private readonly TlsEndpoint endpoint;
    private readonly Action onHandshakeDone;
    private readonly Action onReadDone;
    private readonly Action onWriteDone;
    private byte[] readChunk;
    private byte[] writeChunk;
    private HandshakePhase handshake;
    private long handshakeStarted;
    private ReadPhase reading;
    private WritePhase writing;
    private Task? handshakeTask;
    private ValueTask<int> pendingRead;
    private ValueTask pendingWrite;
    private int undelivered;
    private Exception? failure;
    private byte[]? plainStart; // the peer's first bytes, kept only when they are not a TLS record
    private ManagerTimer? timer;
    private int loopThreadId;

    /// <summary>SslStream continuations that ran on another thread than the loop's: a thread-pool
    /// hop. Tests assert it stays 0.</summary>
    internal static int OffLoopContinuations;

    public TlsLayer(Connection connection, TlsEndpoint endpoint)
    {
        this.connection = connection;
        this.endpoint = endpoint;
        var options = connection.Manager.Options;
        inbound = new IoBuffer(options.ReceiveBufferSize, options.MaxReceiveBufferSize);
        // Ciphertext of a full plaintext send buffer, plus record overhead (at most 5% and a record).
        outbound = new IoBuffer(options.ReceiveBufferSize, (int)Math.Min(int.MaxValue, options.MaxSendBufferSize * 21L / 20 + 2 * ChunkSize));
        stream = new CiphertextStream(inbound, outbound);
        ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        readChunk = System.Buffers.ArrayPool<byte>.Shared.Rent(ChunkSize);
        writeChunk = System.Buffers.ArrayPool<byte>.Shared.Rent(ChunkSize);
        onHandshakeDone = OnHandshakeDone;
        onReadDone = OnReadDone;
        onWriteDone = OnWriteDone;
    }

    public override IoBuffer Inbound => inbound;

    public override IoBuffer Outbound => outbound;

    public override bool IsEstablished => handshake >= HandshakePhase.Done;

    /// <summary>The negotiated session (null before the handshake completes).</summary>
    public SslStream? Session => IsEstablished ? ssl : null;

    /// <summary>True when the peer ended its stream with a TLS close_notify (not just a TCP close).</summary>
    public bool IsCloseNotifyReceived => reading == ReadPhase.CloseNotified;

    /// <summary>True on the virtual network (Meerkat.Testing), where TLS resumption is off: a session
    /// cached by an earlier connection of the process would make a seed's handshakes, and so its
    /// trace, depend on what ran before it (docs/testing.md).</summary>
    internal bool IsOnVirtualNetwork => connection.Manager.Backend == PollerBackend.Virtual;

    /// <summary>The reason recorded by a certificate check that refused the peer.</summary>
    internal TlsException? Refusal { get; set; }

    public override void Start(Connection c)
    {
        if (handshake != HandshakePhase.NotStarted) return;
        handshake = HandshakePhase.Running;
        handshakeStarted = connection.Manager.Ticks;
        loopThreadId = Environment.CurrentManagedThreadId;
        timer = connection.Manager.AddTimer(endpoint.HandshakeTimeout, TimeSpan.Zero, _ => OnHandshakeTimeout(), null);
        try
        {
            handshakeTask = endpoint.AuthenticateAsync(ssl, this);
        }
        catch (Exception ex)
        {
            handshakeTask = Task.FromException(ex);
        }
        if (handshakeTask.IsCompleted) OnHandshakeDone();
        else handshakeTask.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onHandshakeDone);
        Settle();
    }

    public override void OnReceived(Connection c)
    {
        if (handshake == HandshakePhase.Running && plainStart is null && TlsErrors.IsNotTls(inbound.Span)) plainStart = inbound.Span[..Math.Min(inbound.Length, 24)].ToArray();
        stream.Feed();
        Settle();
    }

    public override void OnTransportEnd(Connection c)
    {
        stream.End();
        if (handshake == HandshakePhase.NotStarted) Fail(new TlsException(TlsFailure.Protocol, $"{What} failed: the peer closed the connection before the handshake"));
        Settle();
    }

    public override void OnConsumed(Connection c)
    {
        if (reading == ReadPhase.Stalled) connection.Manager.ScheduleWork(connection);
    }

    public override void OnWork(Connection c)
    {
        if (reading != ReadPhase.Stalled) return;
        reading = ReadPhase.Idle;
        Pump();
        Settle();
        if (connection.ReadReady) connection.Manager.ScheduleRead(connection);
    }

    public override void PrepareWrite(Connection c, bool isDraining)
    {
        if (!IsEstablished)
        {
            // Nothing but the handshake can be sent yet; a close asked for meanwhile does not wait.
            if (isDraining) connection.Close();
            return;
        }
        try
        {
            var plaintext = connection.SendBuffer;
            while (writing != WritePhase.Writing && !plaintext.IsEmpty)
            {
                // A copy keeps the bytes stable should SslStream ever hold them past this call.
                int n = Math.Min(plaintext.Length, writeChunk.Length);
                plaintext.Span[..n].CopyTo(writeChunk);
                plaintext.Consume(n);
                var write = ssl.WriteAsync(writeChunk.AsMemory(0, n));
                if (write.IsCompleted) write.GetAwaiter().GetResult();
                else Await(write);
            }
            if (isDraining && plaintext.IsEmpty && writing == WritePhase.Ready)
            {
                writing = WritePhase.ShutDown;
                var shutdown = ssl.ShutdownAsync();
                if (shutdown.IsCompleted) shutdown.GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or NotSupportedException)
        {
            Fail(new TlsException(TlsFailure.Protocol, $"TLS write failed: {ex.Message}", ex));
            Settle();
        }
    }

    public override void Release()
    {
        timer?.Cancel();
        ssl.Dispose();
        inbound.Release();
        outbound.Release();
        if (readChunk.Length > 0 && reading != ReadPhase.Waiting) System.Buffers.ArrayPool<byte>.Shared.Return(readChunk);
        if (writeChunk.Length > 0 && writing != WritePhase.Writing) System.Buffers.ArrayPool<byte>.Shared.Return(writeChunk);
        readChunk = writeChunk = [];
    }

    private string What => $"TLS handshake with {connection.RemoteEndPoint?.ToString() ?? connection.Host}";

    private void OnHandshakeDone()
    {
        CheckThread();
        var task = handshakeTask!;
        if (task.IsCompletedSuccessfully)
        {
            handshake = HandshakePhase.Done;
            timer?.Cancel();
            Pump();
            return;
        }
        if (handshake == HandshakePhase.Failed) return;
        var error = task.Exception?.InnerException ?? new OperationCanceledException();
        Fail(Refusal ?? (plainStart is not null ? TlsErrors.NotTls(What, connection.Role == ConnectionRole.Outbound ? "server" : "client", plainStart) : null)
            ?? TlsErrors.FromHandshake(What, error, stream.IsEnded));
    }

    /// <summary>Reads plaintext into the receive buffer until SslStream waits for ciphertext, the
    /// buffer is full, or the stream ends.</summary>
    private void Pump()
    {
        var received = connection.ReceiveBuffer;
        while (reading == ReadPhase.Idle && IsEstablished)
        {
            int room = received.Limit - received.Length;
            if (room <= 0)
            {
                reading = ReadPhase.Stalled;
                return;
            }
            ValueTask<int> read;
            try
            {
                read = ssl.ReadAsync(readChunk.AsMemory(0, Math.Min(room, readChunk.Length)));
            }
            catch (Exception ex)
            {
                read = ValueTask.FromException<int>(ex);
            }
            if (!read.IsCompleted)
            {
                reading = ReadPhase.Waiting;
                pendingRead = read;
                read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onReadDone);
                return;
            }
            Take(read);
        }
    }

    private void OnReadDone()
    {
        CheckThread();
        reading = ReadPhase.Idle;
        var read = pendingRead;
        pendingRead = default;
        Take(read);
        Pump();
    }

    private void Take(ValueTask<int> read)
    {
        int n;
        try
        {
            n = read.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (stream.IsEnded)
        {
            // The transport ended inside a record: a truncation. The protocol's framing decides
            // whether what was delivered is complete (DESIGN.md §4.3).
            _ = ex;
            n = 0;
        }
        catch (Exception ex)
        {
            reading = ReadPhase.Ended;
            Fail(new TlsException(TlsFailure.Protocol, $"TLS read failed: {ex.Message}", ex));
            return;
        }
        if (n == 0)
        {
            reading = stream.IsEnded ? ReadPhase.Ended : ReadPhase.CloseNotified;
            return;
        }
        connection.ReceiveBuffer.Append(readChunk.AsSpan(0, n));
        undelivered += n;
    }

    private void Await(ValueTask write)
    {
        writing = WritePhase.Writing;
        pendingWrite = write;
        write.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onWriteDone);
    }

    private void OnWriteDone()
    {
        CheckThread();
        writing = WritePhase.Ready;
        var write = pendingWrite;
        pendingWrite = default;
        try
        {
            write.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Fail(new TlsException(TlsFailure.Protocol, $"TLS write failed: {ex.Message}", ex));
        }
        connection.Manager.ScheduleWrite(connection);
    }

    private void CheckThread()
    {
        if (Environment.CurrentManagedThreadId != loopThreadId) Interlocked.Increment(ref OffLoopContinuations);
    }

    private void OnHandshakeTimeout()
    {
        if (IsEstablished || connection.State >= ConnectionState.Closing) return;
        Fail(new TlsException(TlsFailure.HandshakeTimeout, $"{What} timed out after {endpoint.HandshakeTimeout.TotalSeconds:0.###} s"));
        Settle();
    }

    private void Fail(TlsException error)
    {
        if (handshake < HandshakePhase.Done) handshake = HandshakePhase.Failed;
        failure ??= error;
    }

    /// <summary>Raises, in order, what SslStream's synchronous progress produced.</summary>
    private void Settle()
    {
        var manager = connection.Manager;
        if (connection.State >= ConnectionState.Closing) return;
        if (!outbound.IsEmpty) manager.ScheduleWrite(connection);
        if (handshake == HandshakePhase.Done)
        {
            handshake = HandshakePhase.Announced;
            Diagnostics.TlsTelemetry.HandshakeEnded(connection, handshakeStarted, ssl.SslProtocol, null);
            manager.Raise(connection, new Event(EventKind.TlsHandshake));
            if (!connection.SendBuffer.IsEmpty) manager.ScheduleWrite(connection);
        }
        if (undelivered > 0)
        {
            int n = undelivered;
            undelivered = 0;
            if (connection.State < ConnectionState.Draining) manager.Raise(connection, new Event(EventKind.Read, connection.ReceiveBuffer.Span[^n..]));
        }
        if (failure is not null)
        {
            if (handshake != HandshakePhase.Announced && handshakeStarted != 0) Diagnostics.TlsTelemetry.HandshakeEnded(connection, handshakeStarted, default, failure);
            manager.Fail(connection, failure);
            return;
        }
        if (reading >= ReadPhase.Ended && !connection.IsPeerClosed && connection.State < ConnectionState.Closing)
        {
            manager.PeerClosed(connection);
        }
    }
}
