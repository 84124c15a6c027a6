namespace Meerkat.Http;

/// <summary>
/// How an HTTP transaction ended, carried by its <see cref="EventKind.HttpDone"/> event
/// (<c>e.Outcome</c>, see <see cref="HttpEventExtensions"/>). Every <see cref="EventKind.HttpHeaders"/> is followed by
/// exactly one <see cref="EventKind.HttpDone"/> before <see cref="EventKind.Close"/>, on every path
/// (docs/design.md, "Transactions"); anything but <see cref="Completed"/> is an abort.
/// </summary>
public enum HttpOutcome
{
    /// <summary>The request was read and the response fully written (server) or received (client).</summary>
    Completed,
    /// <summary>The peer closed its side before the transaction could complete.</summary>
    PeerClosed,
    /// <summary>The connection failed: reset by the peer, a send or receive error, a TLS failure.</summary>
    Reset,
    /// <summary>A deadline passed: the head, the body, a stalled reader, a response timeout.</summary>
    Deadline,
    /// <summary>The peer broke the protocol (a malformed message, a limit exceeded).</summary>
    ProtocolError,
    /// <summary>The handler threw; the exception is in <see cref="Event.Error"/>.</summary>
    HandlerError,
    /// <summary>A graceful shutdown ran out of time before the transaction finished.</summary>
    Shutdown,
    /// <summary><see cref="Manager.Dispose"/> closed the connection.</summary>
    Disposed,
    /// <summary>The application closed the connection or cancelled the request.</summary>
    Cancelled,
}

/// <summary>HTTP views of an <see cref="Event"/> shared by server and client connections.</summary>
public static class HttpEventExtensions
{
    extension(Event e)
    {
        /// <summary>For <see cref="EventKind.HttpDone"/>: how the transaction ended.</summary>
        public HttpOutcome Outcome => e.Kind == EventKind.HttpDone ? (HttpOutcome)e.Count : HttpOutcome.Completed;

        /// <summary>For <see cref="EventKind.HttpDone"/>: true when the transaction did not complete.</summary>
        public bool IsAborted => e.Kind == EventKind.HttpDone && e.Count != (long)HttpOutcome.Completed;
    }
}

/// <summary>Why a server transaction in progress was cut, from why its connection closes: one mapping
/// for HTTP/1.1 connections and HTTP/2 streams.</summary>
internal static class HttpServerOutcomes
{
    public static HttpOutcome OfClose(CloseCause cause, bool isPeerClosed) => cause switch
    {
        CloseCause.Failed => HttpOutcome.Reset,
        CloseCause.HandlerError => HttpOutcome.HandlerError,
        CloseCause.Shutdown => HttpOutcome.Shutdown,
        CloseCause.Disposed => HttpOutcome.Disposed,
        _ => isPeerClosed ? HttpOutcome.PeerClosed : HttpOutcome.Cancelled,
    };
}
