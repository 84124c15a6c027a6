namespace Meerkat.Sntp;

/// <summary>The Kiss-o'-Death codes that change what a client does (RFC 5905 §7.4).</summary>
internal static class KissCodes
{
    /// <summary>Access denied: stop sending to this server.</summary>
    public const string Deny = "DENY";

    /// <summary>Access restricted: stop sending to this server.</summary>
    public const string Restrict = "RSTR";

    /// <summary>Rate exceeded: reduce the polling rate at once.</summary>
    public const string Rate = "RATE";
}
