// How this file works: a request body read from a Stream (HttpClientRequest.ContentStream) while
// it is sent. The reading side runs on the thread pool, so a slow or blocking stream never holds
// up the loop: it reads a chunk into a pooled array and posts it to the exchange on the loop, then
// waits until the loop says the connection has room (its send buffer under the high-water mark)
// before reading the next. An upload of any size therefore holds one chunk plus the connection's
// send buffer. The exchange stops the reader when its attempt ends; Completion tells when the
// reader no longer touches the stream (before the stream is rewound to send it again).
using System.Buffers;

namespace Meerkat.Http.Client;

/// <summary>The loop thread's view of an upload. Reading -> WaitingForRoom (a chunk was queued and the
/// connection's send buffer is over its high-water mark), Ended (the stream ended and the body was
/// closed); WaitingForRoom -> Reading (the connection wrote enough).</summary>
internal enum UploadProgress { Reading, WaitingForRoom, Ended }

internal sealed class RequestUpload
{
    public const int ChunkSize = 64 * 1024;

    /// <summary>The loop side (an Exchange); every call is posted to the loop thread.</summary>
    public interface IOwner
    {
        void OnUploadChunk(RequestUpload upload, byte[] chunk, int length);

        void OnUploadEnd(RequestUpload upload);

        void OnUploadFailed(RequestUpload upload, Exception error);
    }

    private readonly Stream stream;
    private readonly ConnectionPool pool;
    private readonly IOwner owner;
    private readonly SemaphoreSlim room = new(0);
    private readonly CancellationTokenSource stop = new();

    public RequestUpload(Stream stream, ConnectionPool pool, IOwner owner)
    {
        this.stream = stream;
        this.pool = pool;
        this.owner = owner;
        Completion = Task.Run(ReadAsync);
    }

    /// <summary>Completes once the reader has stopped reading the stream (never faults).</summary>
    public Task Completion { get; }

    /// <summary>Loop thread only: where the upload stands.</summary>
    public UploadProgress Progress { get; set; }

    /// <summary>Loop thread: the last chunk is written and the connection has room for the next.</summary>
    public void Room() => room.Release();

    /// <summary>Any thread: the attempt is over; the reader stops, a read in progress is cancelled.</summary>
    public void Stop()
    {
        if (stop.IsCancellationRequested) return;
        stop.Cancel();
    }

    private async Task ReadAsync()
    {
        var token = stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
                int n;
                try
                {
                    n = await stream.ReadAsync(chunk.AsMemory(0, ChunkSize), token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    ArrayPool<byte>.Shared.Return(chunk);
                    if (!token.IsCancellationRequested) pool.Post(() => owner.OnUploadFailed(this, ex));
                    return;
                }
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(chunk);
                    pool.Post(() => owner.OnUploadEnd(this));
                    return;
                }
                // The loop returns the chunk to the pool once it is written (or dropped).
                pool.Post(() => owner.OnUploadChunk(this, chunk, n));
                await room.WaitAsync(token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
