// How this file works: the pipe between the loop thread (writer) and the application (reader)
// for one response body. The loop copies each body piece into a pooled segment; when more than
// the limit is buffered it asks the exchange to pause the connection, and the reader, once the
// buffer is down to half, asks it to resume. Completion and failure travel the same way, so a
// reader sees every byte and then either the end (0) or the exception that cut the body short.
using System.Buffers;

namespace Meerkat.Http.Client;

internal sealed class ResponseBodyStream(int limit, ResponseBodyStream.IOwner owner) : AsyncReadOnlyStream
{
    /// <summary>The loop side's exchange, told (from the reader's thread) what the reader did.</summary>
    public interface IOwner
    {
        /// <summary>The reader drained a full buffer to half: resume reading the connection.</summary>
        void OnDrained();

        /// <summary>The stream was disposed before the body ended.</summary>
        void OnAbandoned();
    }

    private static readonly ObjectDisposedException Disposed = new(nameof(ResponseBodyStream));

    private readonly Lock gate = new();
    private readonly Queue<(byte[] Array, int Length)> segments = new();
    private int offset;
    private long buffered;
    private bool completed;
    private bool disposed;
    private bool wantsDrainSignal;
    private Exception? error;
    private TaskCompletionSource? waiter;

    /// <summary>Loop thread: queues a copy; returns true when the buffer is full (pause reading).</summary>
    public bool Enqueue(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource? wake;
        bool full;
        // Copied before taking the lock, so a reader copying out is not held up by it.
        var array = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(array);
        lock (gate)
        {
            if (disposed)
            {
                ArrayPool<byte>.Shared.Return(array);
                return false;
            }
            segments.Enqueue((array, data.Length));
            buffered += data.Length;
            wake = TakeWaiter();
            full = buffered >= limit;
            if (full) wantsDrainSignal = true;
        }
        wake?.TrySetResult();
        return full;
    }

    public void Complete() => Finish(null);

    public void Fail(Exception exception) => Finish(exception);

    private void Finish(Exception? exception)
    {
        TaskCompletionSource? wake;
        lock (gate)
        {
            if (completed) return;
            completed = true;
            error = exception;
            wake = TakeWaiter();
        }
        wake?.TrySetResult();
    }

    /// <summary>Reader: when the whole body is already here (completed without error, nothing read
    /// yet), takes it as one exact-size array and leaves the stream at its end.</summary>
    public bool TryTakeWhole(out byte[] whole)
    {
        lock (gate)
        {
            whole = [];
            if (disposed || !completed || error is not null || offset != 0 || segments.Count > 1) return false;
            if (segments.TryDequeue(out var segment))
            {
                whole = segment.Array.AsSpan(0, segment.Length).ToArray();
                ArrayPool<byte>.Shared.Return(segment.Array);
                buffered = 0;
            }
            return true;
        }
    }

    public bool IsCompleted
    {
        get { lock (gate) return completed; }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty) return 0;
        while (true)
        {
            Task? wait;
            int n = 0;
            bool drained = false;
            lock (gate)
            {
                wait = WaitOrEnd();
                if (wait is null && segments.Count == 0) return 0;
                if (wait is null)
                {
                    n = CopyOut(destination.Span);
                    drained = TakeDrainSignal();
                }
            }
            if (drained) owner.OnDrained();
            if (n > 0) return n;
            await wait!.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reader: moves every buffered segment into <paramref name="into"/> without copying
    /// (the caller returns each array to <see cref="ArrayPool{T}.Shared"/>), waiting for at least
    /// one; false at the end of the body. Fails as <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> does.</summary>
    public async ValueTask<bool> TakeSegmentsAsync(List<ArraySegment<byte>> into, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? wait;
            bool drained = false;
            lock (gate)
            {
                wait = WaitOrEnd();
                if (wait is null && segments.Count == 0) return false;
                if (wait is null)
                {
                    while (segments.TryDequeue(out var segment))
                    {
                        into.Add(new ArraySegment<byte>(segment.Array, offset, segment.Length - offset));
                        buffered -= segment.Length - offset;
                        offset = 0;
                    }
                    drained = TakeDrainSignal();
                }
            }
            if (drained) owner.OnDrained();
            if (wait is null) return true;
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Under the lock: null when there is something to take (segments, or the clean end
    /// when none are left); throws the failure that ended the body; else a task to await.</summary>
    private Task? WaitOrEnd()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (segments.Count > 0) return null;
        if (completed)
        {
            if (error is HttpClientException or OperationCanceledException or TimeoutException or ObjectDisposedException)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            if (error is not null) throw new HttpClientException($"the response body was cut short: {error.Message}", true, error);
            return null;
        }
        waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return waiter.Task;
    }

    /// <summary>Under the lock: the reader brought a full buffer down to half; tell the loop once.</summary>
    private bool TakeDrainSignal()
    {
        if (!wantsDrainSignal || buffered > limit / 2) return false;
        wantsDrainSignal = false;
        return true;
    }

    private int CopyOut(Span<byte> destination)
    {
        int total = 0;
        while (total < destination.Length && segments.TryPeek(out var segment))
        {
            int n = Math.Min(segment.Length - offset, destination.Length - total);
            segment.Array.AsSpan(offset, n).CopyTo(destination[total..]);
            total += n;
            offset += n;
            if (offset == segment.Length)
            {
                segments.Dequeue();
                ArrayPool<byte>.Shared.Return(segment.Array);
                offset = 0;
            }
        }
        buffered -= total;
        return total;
    }

    private TaskCompletionSource? TakeWaiter()
    {
        var w = waiter;
        waiter = null;
        return w;
    }

    protected override void Dispose(bool disposing)
    {
        bool abandoned;
        TaskCompletionSource? wake;
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            abandoned = !completed;
            completed = true;
            error ??= Disposed;
            while (segments.TryDequeue(out var segment)) ArrayPool<byte>.Shared.Return(segment.Array);
            wake = TakeWaiter();
        }
        wake?.TrySetResult();
        if (abandoned) owner.OnAbandoned();
        base.Dispose(disposing);
    }
}
