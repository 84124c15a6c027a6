namespace Meerkat;

/// <summary>How much a <see cref="LogEntry"/> matters; the order matches
/// Microsoft.Extensions.Logging's levels, so a bridge maps them one to one.</summary>
public enum LogSeverity
{
    /// <summary>Step-by-step detail, off by default.</summary>
    Trace,
    /// <summary>Detail useful when debugging.</summary>
    Debug,
    /// <summary>What an operator wants to see: listening, shutting down.</summary>
    Information,
    /// <summary>Something went wrong with one peer or request (a limit hit, a TLS failure).</summary>
    Warning,
    /// <summary>A failure of the application (a handler threw) or of a listener (bind failed).</summary>
    Error,
    /// <summary>The manager cannot go on.</summary>
    Critical,
}

/// <summary>One record given to <see cref="ManagerOptions.Log"/>.</summary>
/// <param name="Severity">How much it matters.</param>
/// <param name="EventName">A stable name for the kind of record (<c>listen</c>, <c>handler-error</c>...), for filters and dashboards.</param>
/// <param name="Message">What happened, in a sentence.</param>
/// <param name="Exception">The exception behind it, if any.</param>
/// <param name="ConnectionId">The connection it concerns, or 0.</param>
public readonly record struct LogEntry(LogSeverity Severity, string EventName, string Message, Exception? Exception = null, long ConnectionId = 0);

/// <summary>Receives the manager's log records (<see cref="ManagerOptions.Log"/>), on the loop thread
/// unless the record says otherwise. It must not throw and should return quickly.</summary>
public delegate void LogHandler(in LogEntry entry);
