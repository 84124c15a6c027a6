namespace Meerkat.Sntp;

/// <summary>The association mode of an NTP packet (RFC 5905 §7.3).</summary>
internal enum NtpMode
{
    /// <summary>Reserved.</summary>
    Reserved = 0,
    /// <summary>Symmetric active.</summary>
    SymmetricActive = 1,
    /// <summary>Symmetric passive.</summary>
    SymmetricPassive = 2,
    /// <summary>A client's request.</summary>
    Client = 3,
    /// <summary>A server's reply.</summary>
    Server = 4,
    /// <summary>A broadcast (or multicast) server's packet.</summary>
    Broadcast = 5,
    /// <summary>An NTP control message.</summary>
    Control = 6,
    /// <summary>Reserved for private use.</summary>
    Private = 7,
}
