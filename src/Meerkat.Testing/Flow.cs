namespace Meerkat.Testing;

/// <summary>
/// One direction of a virtual connection: the segments in flight, each with the virtual time it
/// arrives, and how the direction ends (end of stream or reset). The writer is bounded by
/// <see cref="Window"/> bytes not yet read, like a socket's buffers.
/// </summary>
internal sealed class Flow
{
    /// <summary>Bytes written and not yet read that the direction holds before a write would block.</summary>
    public const int Window = 256 * 1024;

    private readonly VirtualNetwork network;
    private readonly LinkFaults faults;
    private readonly long createdAt;
    private readonly Queue<Segment> segments = new();
    private Segment? head;
    private int headOffset;
    private long wireFree;
    private long lastArrival;

    public Flow(VirtualNetwork network, LinkFaults faults, string name)
    {
        this.network = network;
        this.faults = faults;
        Name = name;
        createdAt = network.Clock.GetTimestamp();
    }

    public string Name { get; }

    /// <summary>The other direction of the same connection.</summary>
    public Flow? Reverse { get; set; }

    /// <summary>Written and not yet read.</summary>
    public int Buffered { get; private set; }

    /// <summary>Bytes taken from the writer so far.</summary>
    public long Sent { get; private set; }

    /// <summary>Bytes handed to the reader so far.</summary>
    public long Delivered { get; private set; }

    /// <summary>When the writer's end of stream arrives (its FIN), or long.MaxValue.</summary>
    public long EndAt { get; private set; } = long.MaxValue;

    /// <summary>When a reset arrives, or long.MaxValue.</summary>
    public long ResetAt { get; private set; } = long.MaxValue;

    /// <summary>The writer shut down its side (or closed): further writes fail.</summary>
    public bool WriterDone { get; private set; }

    /// <summary>The reader is gone: what arrives now answers with a reset.</summary>
    public bool ReaderClosed { get; set; }

    private long Now => network.Clock.GetTimestamp();

    public bool IsReset => Now >= ResetAt;

    public bool Readable
    {
        get
        {
            long now = Now;
            if (now >= ResetAt) return true;
            if (Peek() is { } first && first.ArrivesAt <= now) return true;
            return Buffered == 0 && now >= EndAt;
        }
    }

    public bool Writable => !WriterDone && !ReaderClosed && ResetAt == long.MaxValue && Buffered < Window;

    /// <summary>Takes what the window and the faults allow of <paramref name="data"/>; returns the count.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Window - Buffered);
        if (faults.ResetAfterBytes is { } resetAt) n = (int)Math.Min(n, Math.Max(0, resetAt - Sent));
        if (faults.EndAfterBytes is { } endAt) n = (int)Math.Min(n, Math.Max(0, endAt - Sent));
        int offset = 0;
        while (offset < n)
        {
            int size = faults.MaxSegment > 0 ? Math.Min(n - offset, network.Random.Next(1, faults.MaxSegment + 1)) : n - offset;
            Enqueue(data.Slice(offset, size).ToArray());
            offset += size;
        }
        Sent += n;
        if (faults.ResetAfterBytes is { } limit && Sent >= limit) network.ResetLink(this, ArrivalOf(0), $"reset after {limit} bytes");
        else if (faults.EndAfterBytes is { } end && Sent >= end && !WriterDone)
        {
            network.Note($"{Name} half-closed after {end} bytes");
            End();
        }
        return n;
    }

    /// <summary>The writer's end of stream: arrives after everything written before it.</summary>
    public void End()
    {
        if (WriterDone) return;
        WriterDone = true;
        EndAt = ArrivalOf(0);
        network.WakeAt(EndAt);
    }

    /// <summary>A reset arriving at <paramref name="at"/>: data in flight after it is lost.</summary>
    public void Reset(long at)
    {
        if (at >= ResetAt) return;
        ResetAt = at;
        WriterDone = true;
        network.WakeAt(at);
    }

    /// <summary>Reads into <paramref name="buffer"/>: arrived bytes (one segment at most when the
    /// link splits writes), 0 at end of stream, -1 when nothing has arrived, -2 on a reset.</summary>
    public int Read(Span<byte> buffer)
    {
        long now = Now;
        int total = 0;
        while (total < buffer.Length && Peek() is { } first && first.ArrivesAt <= now && first.ArrivesAt <= ResetAt)
        {
            int n = Math.Min(buffer.Length - total, first.Data.Length - headOffset);
            first.Data.AsSpan(headOffset, n).CopyTo(buffer[total..]);
            total += n;
            headOffset += n;
            if (headOffset == first.Data.Length) { head = null; headOffset = 0; }
            if (faults.MaxSegment > 0) break;
        }
        Buffered -= total;
        Delivered += total;
        if (total > 0) return total;
        if (now >= ResetAt) return -2;
        return Buffered == 0 && now >= EndAt ? 0 : -1;
    }

    /// <summary>Drops what was not read (the reader closed).</summary>
    public void Discard()
    {
        head = null;
        headOffset = 0;
        segments.Clear();
        Buffered = 0;
    }

    private Segment? Peek()
    {
        if (head is null && segments.Count > 0) head = segments.Dequeue();
        return head;
    }

    private void Enqueue(byte[] data)
    {
        long arrives = ArrivalOf(data.Length);
        segments.Enqueue(new Segment(data, arrives));
        Buffered += data.Length;
        network.WakeAt(arrives);
    }

    /// <summary>When <paramref name="size"/> more bytes written now arrive: after the wire is free
    /// (bandwidth), the latency and any stall, never before an earlier segment.</summary>
    private long ArrivalOf(int size)
    {
        long now = Now;
        long start = Math.Max(now, wireFree);
        if (faults.BytesPerSecond > 0) start += (long)(size * (double)System.Diagnostics.Stopwatch.Frequency / faults.BytesPerSecond);
        wireFree = start;
        long arrives = start + VirtualClock.ToTicks(faults.Latency);
        if (faults.StallFor > TimeSpan.Zero)
        {
            long stallStart = createdAt + VirtualClock.ToTicks(faults.StallAfter);
            long stallEnd = stallStart + VirtualClock.ToTicks(faults.StallFor);
            if (arrives >= stallStart && arrives < stallEnd) arrives = stallEnd;
        }
        arrives = Math.Max(arrives, lastArrival);
        lastArrival = arrives;
        return arrives;
    }

    private sealed record Segment(byte[] Data, long ArrivesAt);
}
