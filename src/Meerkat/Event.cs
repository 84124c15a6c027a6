namespace Meerkat;

/// <summary>
/// One event raised to a <see cref="ConnectionHandler"/>. A ref struct: it and its
/// <see cref="Data"/> cannot outlive the callback. Copy what you need to keep.
/// </summary>
public readonly ref struct Event
{
    internal Event(EventKind kind, ReadOnlySpan<byte> data = default, long count = 0, Exception? error = null, object? subject = null)
    {
        Kind = kind;
        Data = data;
        Count = count;
        Error = error;
        Subject = subject;
    }

    /// <summary>What happened.</summary>
    public EventKind Kind { get; }

    /// <summary>The bytes the event carries (see <see cref="EventKind"/>); valid only during the callback.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>A number the event carries: bytes written for <see cref="EventKind.Write"/>.</summary>
    public long Count { get; }

    /// <summary>For <see cref="EventKind.Error"/>: what went wrong.</summary>
    public Exception? Error { get; }

    /// <summary>For <see cref="EventKind.Timer"/>: the timer that fired.</summary>
    public ManagerTimer? Timer => Subject as ManagerTimer;

    /// <summary>A protocol object the event refers to (an HTTP message, a timer...).</summary>
    internal object? Subject { get; }

    /// <inheritdoc/>
    public override string ToString() => Error is null ? $"{Kind} ({Data.Length} bytes)" : $"{Kind}: {Error.Message}";
}

/// <summary>
/// Receives every event of a connection, on the manager's loop thread.
/// </summary>
/// <param name="connection">The connection the event belongs to.</param>
/// <param name="e">The event; valid only during the call.</param>
public delegate void ConnectionHandler(Connection connection, Event e);
