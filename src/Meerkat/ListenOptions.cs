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
}
