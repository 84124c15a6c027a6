namespace Meerkat;

/// <summary>
/// Which of the loop's phase queues (<see cref="PhaseQueues"/>) hold a connection: orthogonal to its
/// stage (a connection may owe a write and a close at once), each set when the connection is queued
/// and cleared when that phase takes it. <see cref="Open"/> is also cleared when the closes phase
/// raises the Open that was still owed, so it reads "Open not raised yet".
/// </summary>
[Flags]
internal enum Queued : byte
{
    None = 0,
    /// <summary>Its <see cref="EventKind.Open"/> is still owed (opens phase).</summary>
    Open = 1,
    /// <summary>To be read again without asking the backend (wait phase).</summary>
    Read = 2,
    /// <summary>Its protocol or security layer continues work (work phase).</summary>
    Work = 4,
    /// <summary>Has bytes to write or a drain to finish (writes phase).</summary>
    Write = 8,
    /// <summary>Its <see cref="EventKind.Close"/> is due (closes phase).</summary>
    Close = 16,
}

/// <summary>
/// What the readiness backend reported about a connection's socket and the loop has not used up:
/// edge-triggered readiness is remembered here until a read or write comes back short (design.md,
/// "Readiness backends"). The three facts are independent.
/// </summary>
[Flags]
internal enum Readiness : byte
{
    None = 0,
    /// <summary>Readable: data, an end of stream, or (a listener) a connection to accept.</summary>
    Readable = 1,
    /// <summary>Writable, and no write has since come back short.</summary>
    Writable = 2,
    /// <summary>The peer hung up: read on to the end of stream even after a short read.</summary>
    HungUp = 4,
}
