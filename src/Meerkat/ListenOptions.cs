namespace Meerkat;

/// <summary>Socket options of a listener.</summary>
public sealed class ListenOptions
{
    internal static readonly ListenOptions Default = new();

    /// <summary>Pending-connection queue length. Default 1024.</summary>
    public int Backlog { get; set; } = 1024;

    /// <summary>Share the port with other listeners that set it too (SO_REUSEPORT, Linux): run one
    /// manager per core on the same port. Default false: binding a port that another listener
    /// holds then fails with "address already in use" (a port whose old connections wait in
    /// TIME_WAIT can still be bound).</summary>
    public bool ReusePort { get; set; }

    /// <summary>For an IPv6 wildcard address, accept IPv4 too. Default false.</summary>
    public bool DualMode { get; set; }

    /// <summary>Set by a <see cref="ManagerGroup"/>: the port its first listener bound, for the others
    /// (the URL may say port 0).</summary>
    internal int? BoundPort { get; init; }

    /// <summary>Set by a <see cref="ManagerGroup"/> without SO_REUSEPORT: the one socket that accepts
    /// for every loop; the listener made with these options gets no socket of its own.</summary>
    internal SharedAcceptor? SharedAcceptor { get; init; }

    /// <summary>Set by a <see cref="ManagerGroup"/> for its first SO_REUSEPORT listener: bind the port
    /// without SO_REUSEPORT first, so a port another listener holds fails as it would for one
    /// manager, instead of being shared.</summary>
    internal bool ClaimPort { get; init; }

    internal ListenOptions With(bool reusePort, int? boundPort = null, SharedAcceptor? sharedAcceptor = null, bool claimPort = false) => new()
    {
        Backlog = Backlog,
        ReusePort = reusePort,
        DualMode = DualMode,
        BoundPort = boundPort,
        SharedAcceptor = sharedAcceptor,
        ClaimPort = claimPort,
    };
}
