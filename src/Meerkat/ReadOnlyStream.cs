namespace Meerkat;

/// <summary>
/// The shared shape of the library's forward-only, read-only streams (a client response body, its
/// decoders, the WebSocket inflater's feed): everything but reading is refused. Subclasses
/// implement the reads.
/// </summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A <see cref="ReadOnlyStream"/> whose one real read is asynchronous
/// (<see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/>); the other read methods go through it.</summary>
internal abstract class AsyncReadOnlyStream : ReadOnlyStream
{
    public abstract override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
}
