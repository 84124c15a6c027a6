namespace Meerkat;

/// <summary>Why a connection is closing, for protocols that must end their units of work with a reason.</summary>
internal enum CloseCause
{
    /// <summary>The application or the protocol closed it (or the loop did, after the peer's end of stream).</summary>
    Closed,
    /// <summary>A transport or TLS failure; <see cref="EventKind.Error"/> follows.</summary>
    Failed,
    /// <summary>A user handler threw; <see cref="EventKind.Error"/> follows.</summary>
    HandlerError,
    /// <summary>A graceful shutdown's deadline passed (<see cref="Manager.Shutdown"/>).</summary>
    Shutdown,
    /// <summary><see cref="Manager.Dispose"/>.</summary>
    Disposed,
}

/// <summary>
/// A protocol layer bound to a connection (HTTP, WebSocket, TLS). It sees every event before the
/// user's handler, and raises its own events (HTTP transactions, WebSocket messages) to the user.
/// Runs on the loop thread.
/// </summary>
internal abstract class Protocol
{
    /// <summary>Called for every event, before the user's handler.</summary>
    public abstract void OnEvent(Connection connection, Event e);

    /// <summary>The peer closed its sending side. Return true when the protocol decides when to
    /// close (to finish a deferred response, say); false lets the loop close once the send buffer
    /// is written.</summary>
    public virtual bool OnEndOfStream(Connection connection) => false;

    /// <summary>Called in the loop's work phase after <see cref="Manager.ScheduleWork"/>.</summary>
    public virtual void OnWork(Connection connection) { }

    /// <summary>The connection is about to raise <see cref="EventKind.Error"/> (a failure) or
    /// <see cref="EventKind.Close"/>: the last moment to end open units of work with an event of their
    /// own (an HTTP transaction's <c>HttpDone</c>). May be called twice (before Error, then before
    /// Close); act once.</summary>
    public virtual void OnClosing(Connection connection, CloseCause cause, Exception? error) { }

    /// <summary>A graceful shutdown began (<see cref="Manager.Shutdown"/>): finish the work in
    /// progress and close; connections still open at the deadline are closed with
    /// <see cref="CloseCause.Shutdown"/>. The default does nothing (the deadline closes the connection).</summary>
    public virtual void OnShutdown(Connection connection) { }

    /// <summary>True when the protocol carries several transactions at once (HTTP/2 streams): the
    /// lifecycle checker then tracks HTTP transactions per event subject.</summary>
    public virtual bool IsMultiplexed => false;

    /// <summary>A <see cref="Manager.Wakeup(long, ReadOnlySpan{byte})"/> sent to an id this protocol
    /// registered with <see cref="Manager.RegisterWakeupTarget"/> (an HTTP request's <c>Id</c>): raise
    /// it to the user with <paramref name="target"/> as the addressed unit of work.</summary>
    public virtual void OnAddressedWakeup(Connection connection, object target, ReadOnlySpan<byte> payload) =>
        connection.Manager.Raise(connection, new Event(EventKind.Wakeup, payload));

    /// <summary>Multiplexed protocols: whether the unit of work API calls address now (an HTTP/2 stream)
    /// can take more output; <see cref="Connection.IsWritable"/> includes it.</summary>
    public virtual bool IsAddressedWritable => true;

    /// <summary>Multiplexed protocols: the router's state of the unit of work API calls address now (an
    /// HTTP/2 stream), behind <see cref="Connection.RoutingState"/>; null when none is addressed.</summary>
    public virtual object? AddressedRoutingState
    {
        get => null;
        set { }
    }

    /// <summary>Multiplexed protocols: makes API calls address <paramref name="target"/> (an HTTP/2 stream,
    /// the <c>Owner.Target</c> of its request; null: none in particular) until the next call, and returns
    /// what they addressed before, to be restored. For a handler answering a stream from another
    /// connection's event (the reverse proxy's upstream). The caller must know the stream's transaction is
    /// still on (its HttpDone not raised). The default does nothing.</summary>
    public virtual object? Address(object? target) => null;
}
