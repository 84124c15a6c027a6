namespace Meerkat;

/// <summary>
/// Thrown from <see cref="Manager.Poll"/> when <see cref="ManagerOptions.CheckInvariants"/> is on
/// and an event breaks the lifecycle contract. It is a bug in Meerkat or in a protocol layer.
/// </summary>
public sealed class LifecycleViolationException : InvalidOperationException
{
    /// <summary>Creates the exception with a message that names the broken rule.</summary>
    public LifecycleViolationException(string message) : base(message) { }
}

/// <summary>A network failure on a connection, raised with <see cref="EventKind.Error"/>.</summary>
public class MeerkatException : IOException
{
    /// <summary>Creates the exception with a message that says what failed.</summary>
    public MeerkatException(string message, Exception? inner = null) : base(message, inner) { }
}
