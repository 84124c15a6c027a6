namespace Meerkat.Cli;

/// <summary>Exit statuses of the meerkat command (documented in --help and docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int BadArguments = 2;
    public const int NetworkError = 3;
    public const int HttpError = 4;
}
