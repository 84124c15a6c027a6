using Microsoft.Extensions.Logging;

namespace Meerkat.Extensions.Hosting;

/// <summary>
/// Passes a manager's log records (<see cref="ManagerOptions.Log"/>) to an <see cref="ILogger"/>:
/// severities map one to one onto log levels, the record's event name becomes the
/// <see cref="EventId"/>'s name, and the connection id a structured value (<c>ConnectionId</c>).
/// </summary>
public static class MeerkatLogBridge
{
    /// <summary>A <see cref="LogHandler"/> writing to <paramref name="logger"/>.</summary>
    public static LogHandler ToLogHandler(this ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        return (in LogEntry entry) =>
        {
            var level = (LogLevel)(int)entry.Severity;
            if (!logger.IsEnabled(level)) return;
            var eventId = new EventId(EventIdOf(entry.EventName), entry.EventName);
            if (entry.ConnectionId != 0)
                logger.Log(level, eventId, entry.Exception, "{Message} (connection {ConnectionId})", entry.Message, entry.ConnectionId);
            else
                logger.Log(level, eventId, entry.Exception, "{Message}", entry.Message);
        };
    }

    /// <summary>The least severity <paramref name="logger"/> writes: what the manager need not even produce.</summary>
    public static LogSeverity MinimumSeverity(this ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        for (var level = LogLevel.Trace; level <= LogLevel.Critical; level++)
            if (logger.IsEnabled(level)) return (LogSeverity)(int)level;
        return LogSeverity.Critical;
    }

    /// <summary>A stable number per event name (FNV-1a), so that filters by id work across runs.</summary>
    private static int EventIdOf(string name)
    {
        uint hash = 2166136261;
        foreach (char c in name) hash = (hash ^ c) * 16777619;
        return (int)(hash & 0x7fffffff);
    }
}
