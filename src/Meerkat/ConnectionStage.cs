namespace Meerkat;

/// <summary>
/// Where a connection is in its life: <see cref="ConnectionState"/> refined by the sub-states the
/// loop needs (each stage's comment names its state first, then its legal successors). Setting
/// <see cref="Connection.Stage"/> sets <see cref="Connection.State"/>; stages are ordered like states,
/// so <c>Stage &gt;= Closing</c> reads like <c>State &gt;= Closing</c>.
/// </summary>
internal enum ConnectionStage : byte
{
    /// <summary>Open: an outbound connection resolving or racing its addresses (its
    /// <see cref="EventKind.Open"/> may still be due). Next: Connected (Connect), Closing.</summary>
    Open,

    /// <summary>Open: a connection attempt (role <see cref="ConnectionRole.Internal"/>, made by an
    /// <see cref="OutboundConnector"/>) whose non-blocking connect is in flight; the poller watches it
    /// for writability. Next: Closed (it lost, failed, or won and gave its socket away).</summary>
    Connecting,

    /// <summary>Connected: listening, accepted, or connected. Next: Draining, Closing.</summary>
    Connected,

    /// <summary>Draining: writing what is queued (<see cref="Connection.CloseAfterDrain"/>); no Read
    /// is raised. Next: HalfClosed (all written), Closing (the peer had closed, no linger, a failure).</summary>
    Draining,

    /// <summary>Draining: half-closed (our FIN sent), reading and discarding until the peer closes or
    /// <see cref="ManagerOptions.LingerTimeout"/> passes. Next: Closing.</summary>
    HalfClosed,

    /// <summary>Closing: <see cref="Connection.Close"/> was called or the connection failed; the
    /// closes phase raises <see cref="EventKind.Close"/>. Next: Closed.</summary>
    Closing,

    /// <summary>Closed: released and inert. Final.</summary>
    Closed,
}
