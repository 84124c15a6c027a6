namespace Meerkat.Testing;

/// <summary>
/// What the virtual network does to the bytes of one direction of a connection. The default
/// (<see cref="None"/>) delivers every write at once, whole. Set
/// <see cref="VirtualNetwork.Upstream"/> (client to server) and <see cref="VirtualNetwork.Downstream"/>
/// before a connection is made, or let <see cref="VirtualNetwork.RandomFaults"/> draw them from the seed.
/// </summary>
public sealed record LinkFaults
{
    /// <summary>No fault: whole writes, no delay.</summary>
    public static LinkFaults None { get; } = new();

    /// <summary>Cuts every write into segments of 1 to this many bytes (drawn from the seed), each
    /// read separately by the peer. 0: writes arrive whole. 1: one byte per read.</summary>
    public int MaxSegment { get; init; }

    /// <summary>One-way delay of every segment (and of the connection handshake).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Bytes per second the direction carries; 0: unlimited.</summary>
    public long BytesPerSecond { get; init; }

    /// <summary>Nothing is delivered from <see cref="StallAfter"/> (time since the connection was
    /// made) for <see cref="StallFor"/>; what was sent meanwhile arrives when the stall ends.</summary>
    public TimeSpan StallAfter { get; init; }

    /// <summary>How long the stall lasts; zero: no stall.</summary>
    public TimeSpan StallFor { get; init; }

    /// <summary>The connection is reset once this many bytes went this way: the reader gets them,
    /// then a reset; the other side's next read or write fails too. Null: never.</summary>
    public long? ResetAfterBytes { get; init; }

    /// <summary>Half-close: the writer's stream ends after this many bytes, as if it had shut down
    /// its sending side there (the reader sees end of stream; the other direction goes on; a later
    /// write fails). Null: never.</summary>
    public long? EndAfterBytes { get; init; }

    /// <summary>Draws a fault mix from <paramref name="random"/>: mostly mild (splits, latency,
    /// bandwidth), sometimes a stall, a reset or a half-close somewhere in the first KiBs.</summary>
    public static LinkFaults Random(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int dice = random.Next(100);
        return new LinkFaults
        {
            MaxSegment = random.Next(4) switch { 0 => 0, 1 => 1, 2 => random.Next(2, 16), _ => random.Next(16, 4096) },
            Latency = TimeSpan.FromMilliseconds(random.Next(0, 50)),
            BytesPerSecond = random.Next(3) == 0 ? random.Next(1_000, 1_000_000) : 0,
            StallAfter = TimeSpan.FromMilliseconds(random.Next(0, 200)),
            StallFor = dice < 15 ? TimeSpan.FromMilliseconds(random.Next(1, 3_000)) : TimeSpan.Zero,
            ResetAfterBytes = dice is >= 15 and < 25 ? random.Next(0, 4_096) : null,
            EndAfterBytes = dice is >= 25 and < 30 ? random.Next(0, 4_096) : null,
        };
    }
}
