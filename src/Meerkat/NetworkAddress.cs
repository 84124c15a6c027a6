using System.Globalization;
using System.Net;

namespace Meerkat;

/// <summary>
/// A parsed <c>scheme://host:port</c> address as given to <see cref="Manager.Listen(string, ConnectionHandler, ListenOptions)"/> and
/// <see cref="Manager.Connect(string, ConnectionHandler)"/>. IPv6 literals are written in brackets: <c>tcp://[::1]:8000</c>.
/// </summary>
public sealed record NetworkAddress(string Scheme, string Host, int Port)
{
    /// <summary>Parses an address; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    /// <param name="url">For example <c>tcp://127.0.0.1:0</c>, <c>udp://[::1]:5353</c>, <c>http://localhost:8000</c>.</param>
    /// <param name="defaultPort">Port used when the URL has none; -1 makes a port required.</param>
    public static NetworkAddress Parse(string url, int defaultPort = -1)
    {
        ArgumentNullException.ThrowIfNull(url);
        int schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0) throw new ArgumentException($"'{url}' has no scheme: write it as scheme://host:port, e.g. tcp://127.0.0.1:8000", nameof(url));
        string scheme = url[..schemeEnd].ToLowerInvariant();
        string rest = url[(schemeEnd + 3)..];
        int slash = rest.IndexOf('/');
        if (slash >= 0) rest = rest[..slash];
        string host;
        string? portText = null;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']');
            if (close < 0) throw new ArgumentException($"'{url}' has an unclosed '[' in its IPv6 address", nameof(url));
            host = rest[1..close];
            if (close + 1 < rest.Length)
            {
                if (rest[close + 1] != ':') throw new ArgumentException($"'{url}' has text after its IPv6 address", nameof(url));
                portText = rest[(close + 2)..];
            }
        }
        else
        {
            int colon = rest.LastIndexOf(':');
            host = colon >= 0 ? rest[..colon] : rest;
            if (colon >= 0) portText = rest[(colon + 1)..];
        }
        if (host.Length == 0) throw new ArgumentException($"'{url}' has no host", nameof(url));
        int port = defaultPort;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535))
            throw new ArgumentException($"'{url}' has an invalid port '{portText}' (0-65535)", nameof(url));
        if (port < 0) throw new ArgumentException($"'{url}' has no port", nameof(url));
        return new NetworkAddress(scheme, host, port);
    }

    /// <summary>The host as an IP address when it is a literal (or <c>localhost</c>, <c>*</c>), else null.</summary>
    public IPAddress? Literal => Host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" => IPAddress.Any,
        _ => IPAddress.TryParse(Host, out var address) ? address : null,
    };

    /// <inheritdoc/>
    public override string ToString() => Host.Contains(':') ? $"{Scheme}://[{Host}]:{Port}" : $"{Scheme}://{Host}:{Port}";
}
