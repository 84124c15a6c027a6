using System.Diagnostics;

namespace Meerkat.Tests;

/// <summary>External programs used as real peers. Missing ones skip the test on a developer's
/// machine and fail it under CI (CI=true), where .ci/run installs them.</summary>
internal static class Peers
{
    public static string? Find(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var path = Path.Combine(dir, program);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public static void SkipOrFail(string program)
    {
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail($"{program} is required under CI (.ci/run installs it)");
        Assert.Skip($"{program} is not installed");
    }

    /// <summary>Runs a program to completion (bounded to 60 s) and returns its standard output.</summary>
    public static async Task<string> RunAsync(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        return await output;
    }
}
