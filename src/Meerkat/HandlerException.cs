namespace Meerkat;

/// <summary>A user handler threw while handling an event; raised with <see cref="EventKind.Error"/>
/// (and, for an HTTP transaction, in its <c>HttpDone</c> as <c>HttpOutcome.HandlerError</c>). The
/// handler's exception is the <see cref="Exception.InnerException"/>.</summary>
internal sealed class HandlerException(EventKind kind, Exception inner)
    : MeerkatException($"the handler threw on {kind}: {inner.Message}", inner)
{
    /// <summary>The event the handler was handling.</summary>
    public EventKind Kind { get; } = kind;
}
