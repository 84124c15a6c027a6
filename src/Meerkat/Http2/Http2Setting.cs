namespace Meerkat.Http2;

/// <summary>SETTINGS parameters (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1). A receiver ignores
/// identifiers it does not know.</summary>
internal enum Http2SettingId : ushort
{
    /// <summary>Largest HPACK dynamic table the sender's decoder allows (default 4096).</summary>
    HeaderTableSize = 0x1,

    /// <summary>0 or 1: whether server push is allowed (default 1; Meerkat's clients send 0).</summary>
    EnablePush = 0x2,

    /// <summary>Most streams the sender lets its peer open at once (default unlimited).</summary>
    MaxConcurrentStreams = 0x3,

    /// <summary>The sender's initial stream receive window (default 65,535; at most 2^31-1).</summary>
    InitialWindowSize = 0x4,

    /// <summary>Largest frame payload the sender accepts (2^14 to 2^24-1; default 2^14).</summary>
    MaxFrameSize = 0x5,

    /// <summary>Advisory: the largest field section the sender accepts (default unlimited).</summary>
    MaxHeaderListSize = 0x6,

    /// <summary>RFC 8441: 1 when the sender accepts extended CONNECT (WebSockets over HTTP/2).</summary>
    EnableConnectProtocol = 0x8,

    /// <summary>RFC 9218: 1 when the sender ignores RFC 7540 priority signals.</summary>
    NoRfc7540Priorities = 0x9,
}

/// <summary>One identifier/value pair of a SETTINGS frame.</summary>
internal readonly record struct Http2Setting(Http2SettingId Id, uint Value)
{
    /// <summary>Octets per setting on the wire.</summary>
    public const int Size = 6;
}
