using System.Net;
using System.Net.Sockets;

namespace Meerkat;

/// <summary>
/// Which address to try next, and when: Happy Eyeballs version 2 (RFC 8305 §4 and §5) as a
/// sans-I/O plan. No socket, no clock: the caller passes the time (Stopwatch ticks) and reports
/// what its attempts did; the plan answers with the next endpoint to start and when to ask again.
/// </summary>
/// <remarks>
/// <para>How it works: the resolved addresses are interleaved by family, starting with the family
/// of the first (most preferred) address (§4, "First Address Family Count" 1). The first attempt
/// starts at once. While attempts are in flight and none has connected, the next one starts when
/// the connection attempt delay (§5, 250 ms by default) has passed since the last start, or at once
/// when an attempt fails: a failed attempt frees its turn. The first attempt to connect wins; the
/// caller closes every other one. When every address failed the plan has failed, and
/// <see cref="FailureSummary"/> says how each one did.</para>
/// <para>Stages: <see cref="Stage.Racing"/> → <see cref="Stage.Connected"/> or <see cref="Stage.Failed"/>;
/// both are final.</para>
/// </remarks>
internal sealed class HappyEyeballs
{
    /// <summary>Where the race is.</summary>
    public enum Stage
    {
        /// <summary>Attempts are started or pending. Next: Connected, Failed.</summary>
        Racing,
        /// <summary>One attempt connected; the others must be closed. Final.</summary>
        Connected,
        /// <summary>Every address was tried and failed. Final.</summary>
        Failed,
    }

    private readonly List<IPEndPoint> order;
    private readonly List<string?> failures;
    private readonly long attemptDelayTicks;
    private readonly int port;
    private bool moreToCome;
    private int nextIndex;
    private int inFlight;
    private long nextStartDue;

    /// <param name="addresses">The resolved addresses, most preferred first (as the resolver sorted them, RFC 6724).</param>
    /// <param name="port">The port every attempt connects to.</param>
    /// <param name="attemptDelayTicks">The connection attempt delay, in Stopwatch ticks.</param>
    /// <param name="moreToCome">Another family's answer is still expected (RFC 8305 §3): the race does
    /// not fail while it is, even with every address so far failed; see <see cref="Add"/>.</param>
    public HappyEyeballs(IReadOnlyList<IPAddress> addresses, int port, long attemptDelayTicks, bool moreToCome = false)
    {
        if (addresses.Count == 0) throw new ArgumentException("there must be at least one address to try", nameof(addresses));
        order = [.. Interleave(addresses, port)];
        failures = [.. new string?[order.Count]];
        this.attemptDelayTicks = attemptDelayTicks;
        this.port = port;
        this.moreToCome = moreToCome;
        nextStartDue = long.MinValue;
    }

    /// <summary>A later answer (RFC 8305 §3: the other family's query came back during the race): its
    /// addresses join the ones not tried yet, the families interleaved again. <paramref name="last"/>:
    /// no further answer will come, so the race may now fail.</summary>
    public void Add(IReadOnlyList<IPAddress> addresses, bool last)
    {
        if (Current != Stage.Racing) return;
        moreToCome = !last;
        if (addresses.Count > 0)
        {
            var untried = new List<IPAddress>(order.Count - nextIndex + addresses.Count);
            for (int i = nextIndex; i < order.Count; i++) untried.Add(order[i].Address);
            untried.AddRange(addresses);
            order.RemoveRange(nextIndex, order.Count - nextIndex);
            failures.RemoveRange(nextIndex, failures.Count - nextIndex);
            foreach (var endPoint in Interleave(untried, port))
            {
                order.Add(endPoint);
                failures.Add(null);
            }
        }
        if (inFlight == 0 && nextIndex >= order.Count && !moreToCome) Current = Stage.Failed;
    }

    /// <summary>The current stage.</summary>
    public Stage Current { get; private set; }

    /// <summary>The endpoints in the order they will be tried.</summary>
    public IReadOnlyList<IPEndPoint> Order => order;

    /// <summary>The index of the attempt that connected, once <see cref="Stage.Connected"/>.</summary>
    public int Winner { get; private set; } = -1;

    /// <summary>When to call <see cref="TryStartNext"/> again (Stopwatch ticks), or null when no
    /// start is pending: all started, or the race is over.</summary>
    public long? NextAttemptDue => Current == Stage.Racing && nextIndex < order.Count ? nextStartDue : null;

    /// <summary>Whether an attempt should start now; if so, which one. Call in a loop until false.</summary>
    public bool TryStartNext(long now, out int index, out IPEndPoint endPoint)
    {
        index = -1;
        endPoint = null!;
        if (Current != Stage.Racing || nextIndex >= order.Count) return false;
        if (inFlight > 0 && now < nextStartDue) return false;
        index = nextIndex++;
        endPoint = order[index];
        inFlight++;
        nextStartDue = now + attemptDelayTicks;
        return true;
    }

    /// <summary>The attempt <paramref name="index"/> failed (refused, unreachable...): its turn
    /// passes to the next address at once.</summary>
    public void OnFailed(int index, string reason, long now)
    {
        if (Current != Stage.Racing || failures[index] is not null) return;
        failures[index] = reason;
        inFlight--;
        nextStartDue = now;
        if (inFlight == 0 && nextIndex >= order.Count && !moreToCome) Current = Stage.Failed;
    }

    /// <summary>The attempt <paramref name="index"/> connected: it wins, the others are to be closed.</summary>
    public void OnConnected(int index)
    {
        if (Current != Stage.Racing) return;
        Current = Stage.Connected;
        Winner = index;
        inFlight = 0;
    }

    /// <summary>How each attempt ended, for the error message: "address: reason; ...".</summary>
    public string FailureSummary
    {
        get
        {
            var parts = new List<string>(order.Count);
            for (int i = 0; i < order.Count; i++)
                parts.Add($"{order[i]}: {failures[i] ?? (i < nextIndex ? "no answer" : "not tried")}");
            return string.Join("; ", parts);
        }
    }

    /// <summary>RFC 8305 §4: alternate the address families, beginning with the family of the
    /// first address; within a family the resolver's order is kept.</summary>
    public static IPEndPoint[] Interleave(IReadOnlyList<IPAddress> addresses, int port)
    {
        var first = addresses[0].AddressFamily;
        var preferred = new List<IPAddress>(addresses.Count);
        var other = new List<IPAddress>(addresses.Count);
        foreach (var address in addresses) (address.AddressFamily == first ? preferred : other).Add(address);
        var result = new IPEndPoint[addresses.Count];
        int p = 0, o = 0, n = 0;
        while (p < preferred.Count || o < other.Count)
        {
            if (p < preferred.Count) result[n++] = new IPEndPoint(preferred[p++], port);
            if (o < other.Count) result[n++] = new IPEndPoint(other[o++], port);
        }
        return result;
    }

    /// <summary>True for the address family an outbound socket can be made for.</summary>
    public static bool IsUsable(IPAddress address) =>
        address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;
}
