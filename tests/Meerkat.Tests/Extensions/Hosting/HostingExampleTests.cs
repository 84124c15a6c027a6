using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Meerkat.Tests.Extensions.Hosting;

/// <summary>examples/Hosting as a process: it takes --urls, prints where it listens, serves, exports
/// its spans and metrics to the console through the OpenTelemetry SDK, and exits 0 on SIGTERM.</summary>
public sealed partial class HostingExampleTests
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private const int SigTerm = 15;

    [GeneratedRegex(@"Listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();

    [Fact]
    public async Task The_example_serves_exports_telemetry_and_exits_0_on_SIGTERM()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("sends SIGTERM with kill(2)");
        // tests/Meerkat.Tests/bin/<configuration>/net10.0 -> examples/Hosting/bin/<configuration>/net10.0
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        string configuration = testDir.Parent!.Name;
        string root = testDir.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(root, "examples", "Hosting", "bin", configuration, "net10.0", "Hosting.dll");
        Assert.True(File.Exists(dll), $"the example is built with the tests: {dll}");

        var info = new ProcessStartInfo("dotnet", [dll, "--urls", "http://127.0.0.1:0"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (ListeningOn().Match(e.Data) is { Success: true } m) listening.TrySetResult(m.Groups[1].Value);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            string url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using (var client = new HttpClient())
                Assert.Equal("Hello, world!\n", await client.GetStringAsync(url + "/hello/world"));
            Assert.Equal(0, Kill(process.Id, SigTerm));
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            string text;
            lock (output) text = output.ToString();
            Assert.True(process.ExitCode == 0, text);
            Assert.Contains("Activity.DisplayName:        GET /hello/{name}", text); // the span, exported
            Assert.Contains("Metric Name: http.server.request.duration", text); // flushed at shutdown
            Assert.Contains("shutdown complete: every connection closed", text); // the log hook, through ILogger
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }
}
