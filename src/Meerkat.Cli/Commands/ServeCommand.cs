namespace Meerkat.Cli;

internal static class ServeCommand
{
    public static int Run(string[] args) => throw new UsageException("serve is not available yet");
}
