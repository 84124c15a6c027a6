namespace Meerkat.Cli;

internal static class DemoCommand
{
    public static int Run(string[] args) => throw new UsageException("demo is not available yet");
}
