using System.Net;

namespace Meerkat;

/// <summary>
/// Resolves a host name to its addresses, most preferred first (the order of
/// <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>, which sorts by RFC 6724).
/// Set it in <see cref="ManagerOptions.Resolver"/> to replace the system resolver: a hosts map,
/// service discovery, or a test that needs a name with chosen addresses.
/// </summary>
/// <remarks>
/// Called on the loop thread for every outbound connection whose host is not an IP literal; it
/// must return quickly and do its work asynchronously. The token is cancelled when the manager
/// stops waiting (the connection closed, or <see cref="ManagerOptions.ResolveTimeout"/> passed);
/// an answer that comes after that is ignored. An empty array or a faulted task fails the
/// connection with an error naming the host.
/// </remarks>
/// <param name="host">The host name, as given in the URL.</param>
/// <param name="cancellationToken">Cancelled when the answer is no longer wanted.</param>
/// <returns>The addresses to try; IPv4 and IPv6 addresses are raced (Happy Eyeballs, RFC 8305).</returns>
public delegate Task<IPAddress[]> HostResolver(string host, CancellationToken cancellationToken);
