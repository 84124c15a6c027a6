namespace Meerkat.Cli;

/// <summary>The user got the command line wrong; the message says how. The command line prints it
/// after "meerkat COMMAND: " and exits with <see cref="ExitCodes.BadArguments"/>.</summary>
internal sealed class UsageException(string message) : Exception(message);
