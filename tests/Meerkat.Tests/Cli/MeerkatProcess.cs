using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Meerkat.Tests.Cli;

/// <summary>
/// The meerkat command as a real process: the JIT build next to the tests (<c>dotnet exec
/// Meerkat.Cli.dll</c>) or the native binary .ci/run publishes (<see cref="Artifacts.NativeBinary"/>).
/// Stdout is read line by line as it comes, so a test can wait for "listening on ..." and then
/// signal the process like a user would.
/// </summary>
internal sealed partial class MeerkatProcess : IDisposable
{
    public const int SIGINT = 2;
    public const int SIGTERM = 15;

    private readonly Process process;
    private readonly BlockingCollection<string> lines = [];
    private readonly StringBuilder output = new();
    private readonly StringBuilder errors = new();
    private readonly SemaphoreSlim errorLines = new(0);
    private readonly Task outputDone;
    private readonly Task errorsDone;

    private MeerkatProcess(bool native, string[] args)
    {
        var info = native
            ? new ProcessStartInfo(Artifacts.NativeBinary, args)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", ["exec", Path.Combine(AppContext.BaseDirectory, "Meerkat.Cli.dll"), .. args]);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.StandardOutputEncoding = Encoding.UTF8;
        process = Process.Start(info)!;
        outputDone = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (output) output.AppendLine(line);
                lines.Add(line);
            }
            lines.CompleteAdding();
        });
        errorsDone = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (errors) errors.AppendLine(line);
                errorLines.Release();
            }
        });
    }

    public static MeerkatProcess Start(bool native, params string[] args) => new(native, args);

    public int Id => process.Id;

    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    public string Errors
    {
        get { lock (errors) return errors.ToString(); }
    }

    /// <summary>The next stdout line that matches, waiting at most <paramref name="timeout"/>.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            foreach (var line in lines.GetConsumingEnumerable(cancel.Token))
                if (match(line)) return line;
        }
        catch (OperationCanceledException)
        {
        }
        Assert.Fail($"no such line from meerkat (exited: {process.HasExited}); stdout:\n{Output}\nstderr:\n{Errors}");
        return null!;
    }

    /// <summary>Waits until stderr holds <paramref name="text"/>.</summary>
    public void WaitForError(string text, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        while (!Errors.Contains(text, StringComparison.Ordinal))
        {
            var left = limit - clock.Elapsed;
            if (left <= TimeSpan.Zero || !errorLines.Wait(left) && !Errors.Contains(text, StringComparison.Ordinal))
                Assert.Fail($"meerkat never wrote '{text}' to stderr; stderr:\n{Errors}");
        }
    }

    /// <summary>Waits for "listening on URL" and returns the URL.</summary>
    public string WaitForListening() => WaitForLine(l => l.StartsWith("listening on ", StringComparison.Ordinal))["listening on ".Length..].TrimEnd('/');

    public void Signal(int signal) => Assert.Equal(0, kill(process.Id, signal));

    /// <summary>The exit status, once every line of output is read.</summary>
    public int WaitForExit(TimeSpan? timeout = null)
    {
        Assert.True(process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)), $"meerkat did not exit; stdout:\n{Output}\nstderr:\n{Errors}");
        Task.WaitAll(outputDone, errorsDone);
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        process.Dispose();
        lines.Dispose();
        errorLines.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
