using System.Threading.Tasks.Sources;

namespace Meerkat.Tls;

/// <summary>
/// The stream <see cref="System.Net.Security.SslStream"/> sits on: it reads ciphertext from the
/// connection's inbound buffer and writes ciphertext to its outbound buffer, never touching a
/// socket. Loop thread only.
/// </summary>
/// <remarks>
/// <para>How it works: a read with ciphertext buffered completes at once; a read with none returns
/// a pending <see cref="ValueTask{TResult}"/> (this object, an <see cref="IValueTaskSource{TResult}"/>)
/// that <see cref="Feed"/> completes when the loop has read more, or the transport ended. Its
/// continuations run inline (<c>RunContinuationsAsynchronously = false</c>, and a captured
/// scheduling context is ignored), so SslStream's handshake and decryption resume synchronously
/// inside <see cref="Feed"/>, on the loop thread: no thread-pool hop.</para>
/// <para>Writes append to the outbound buffer and complete at once; the loop writes that buffer to
/// the socket in its write phase.</para>
/// </remarks>
internal sealed class CiphertextStream : Stream, IValueTaskSource<int>
{
    private readonly IoBuffer inbound;
    private readonly IoBuffer outbound;
    private ManualResetValueTaskSourceCore<int> waiter = new() { RunContinuationsAsynchronously = false };
    private Memory<byte> waitingBuffer;
    private bool isWaiting;

    public CiphertextStream(IoBuffer inbound, IoBuffer outbound)
    {
        this.inbound = inbound;
        this.outbound = outbound;
    }

    /// <summary>The transport reached end of stream: reads return 0 once the inbound buffer is empty.</summary>
    public bool IsEnded { get; private set; }

    /// <summary>True while SslStream waits for ciphertext.</summary>
    public bool IsWaiting => isWaiting;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Completes a waiting read, if there is something to give it; the reader's continuation
    /// runs before this returns.</summary>
    public void Feed()
    {
        if (!isWaiting || inbound.IsEmpty && !IsEnded) return;
        isWaiting = false;
        int n = Take(waitingBuffer.Span);
        waitingBuffer = default;
        waiter.SetResult(n);
    }

    /// <summary>Marks the end of the transport and completes a waiting read.</summary>
    public void End()
    {
        IsEnded = true;
        Feed();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (isWaiting) throw new InvalidOperationException("SslStream issued two concurrent reads");
        if (!inbound.IsEmpty || IsEnded) return new ValueTask<int>(Take(buffer.Span));
        waiter.Reset();
        waitingBuffer = buffer;
        isWaiting = true;
        return new ValueTask<int>(this, waiter.Version);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        !inbound.IsEmpty || IsEnded ? Take(buffer.AsSpan(offset, count)) : throw new NotSupportedException("the loop's TLS stream never blocks");

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Append(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Write(byte[] buffer, int offset, int count) => Append(buffer.AsSpan(offset, count));

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    int IValueTaskSource<int>.GetResult(short token) => waiter.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => waiter.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        // Without UseSchedulingContext the continuation runs right here on SetResult: a test
        // framework's SynchronizationContext on the loop thread must not pull it elsewhere.
        waiter.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);

    private int Take(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, inbound.Length);
        inbound.Span[..n].CopyTo(destination);
        inbound.Consume(n);
        return n;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (!outbound.Append(data)) throw new IOException($"the TLS send buffer is full ({outbound.Limit} bytes)");
    }
}
