namespace Meerkat;

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

    /// <summary>The connection is failing with <paramref name="error"/>: called before the
    /// <see cref="EventKind.Error"/> event, so that a protocol can end what it has open (an HTTP
    /// transaction's <c>HttpDone</c>) while events may still be raised.</summary>
    public virtual void OnFailing(Connection connection, Exception error) { }

    /// <summary>The connection is closing: called just before the <see cref="EventKind.Close"/>
    /// event, for the same reason as <see cref="OnFailing"/>.
    /// <see cref="Manager.IsDisposed"/> tells whether <see cref="Manager.Dispose"/> is the cause.</summary>
    public virtual void OnClosing(Connection connection) { }
}
