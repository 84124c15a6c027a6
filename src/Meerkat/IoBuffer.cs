using System.Buffers;

namespace Meerkat;

/// <summary>
/// A byte queue over a pooled array: bytes are appended at the end and consumed from the start.
/// </summary>
/// <remarks>
/// How it works: the live bytes are <c>array[start..end]</c>. Consuming only moves <c>start</c>,
/// so spans handed out during a callback stay valid until the next <see cref="Compact"/> or
/// growth, which the loop does only between callbacks. Capacity grows by doubling up to
/// <see cref="Limit"/>. An emptied buffer keeps its array until the loop calls
/// <see cref="ReleaseIfEmpty"/> after the callbacks (a span of it may still be in use during
/// one); then the array goes back to the pool, so an idle connection holds no buffer at all.
/// </remarks>
internal sealed class IoBuffer
{
    private byte[] array = [];
    private int start;
    private int end;

    public IoBuffer(int initialSize, int limit)
    {
        InitialSize = initialSize;
        Limit = limit;
    }

    public int InitialSize { get; }

    /// <summary>Largest capacity this buffer may grow to.</summary>
    public int Limit { get; set; }

    public int Length => end - start;

    public bool IsEmpty => end == start;

    public int Capacity => array.Length;

    public ReadOnlySpan<byte> Span => array.AsSpan(start, end - start);

    public ReadOnlyMemory<byte> Memory => array.AsMemory(start, end - start);

    /// <summary>Appends bytes; false (and nothing appended) when they do not fit under the limit.</summary>
    public bool Append(ReadOnlySpan<byte> data)
    {
        if (data.Length > Limit - Length) return false;
        data.CopyTo(GetWriteSpan(data.Length));
        end += data.Length;
        return true;
    }

    /// <summary>Free space of at least <paramref name="sizeHint"/> bytes at the end (less only when the
    /// limit forbids more), growing or compacting as needed. Commit what you wrote with <see cref="Advance"/>.</summary>
    public Span<byte> GetWriteSpan(int sizeHint)
    {
        if (array.Length - end < sizeHint) MakeRoom(sizeHint);
        return array.AsSpan(end);
    }

    public Memory<byte> GetWriteMemory(int sizeHint)
    {
        GetWriteSpan(sizeHint);
        return array.AsMemory(end);
    }

    public void Advance(int count) => end += count;

    public void Consume(int count)
    {
        if ((uint)count > (uint)Length) throw new ArgumentOutOfRangeException(nameof(count), "cannot consume more bytes than are buffered");
        start += count;
        if (start == end) Reset();
    }

    /// <summary>Moves the live bytes to the front of the array.</summary>
    public void Compact()
    {
        if (start == 0) return;
        int length = Length;
        array.AsSpan(start, length).CopyTo(array);
        start = 0;
        end = length;
    }

    /// <summary>Returns the array to the pool; the buffer becomes empty.</summary>
    public void Release()
    {
        start = end = 0;
        if (array.Length == 0) return;
        ArrayPool<byte>.Shared.Return(array);
        array = [];
    }

    /// <summary>Gives the array back to the pool when no byte is buffered. Loop thread, between
    /// callbacks only.</summary>
    public void ReleaseIfEmpty()
    {
        if (end == start && array.Length > 0) Release();
    }

    private void Reset() => start = end = 0;

    private void MakeRoom(int sizeHint)
    {
        int length = Length;
        int needed = Math.Min(length + Math.Max(sizeHint, 1), Math.Max(Limit, length));
        if (array.Length >= needed && start > 0)
        {
            Compact();
            return;
        }
        int capacity = Math.Max(array.Length, InitialSize);
        while (capacity < needed) capacity = (int)Math.Min((long)capacity * 2, int.MaxValue);
        var grown = ArrayPool<byte>.Shared.Rent(capacity);
        array.AsSpan(start, length).CopyTo(grown);
        if (array.Length > 0) ArrayPool<byte>.Shared.Return(array);
        array = grown;
        start = 0;
        end = length;
    }
}
