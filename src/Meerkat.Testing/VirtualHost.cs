using System.Net;

namespace Meerkat.Testing;

/// <summary>A named machine of the virtual network: one manager, one address.</summary>
internal sealed class VirtualHost(string name, IPAddress address)
{
    private int nextPort = 49152;

    public string Name => name;

    public IPAddress Address => address;

    public Manager Manager { get; set; } = null!;

    public VirtualNetworkBackend Backend { get; set; } = null!;

    /// <summary>An ephemeral port for the next outbound connection.</summary>
    public int NextPort() => nextPort < 65535 ? nextPort++ : nextPort = 49152;
}
