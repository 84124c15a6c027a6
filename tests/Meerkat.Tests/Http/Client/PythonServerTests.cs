using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meerkat.Http.Client;

namespace Meerkat.Tests.Http.Client;

/// <summary>Against Python's http.server (HTTP/1.0, read-until-close bodies, a peer nobody here wrote).</summary>
public sealed class PythonServerTests
{
    [Fact]
    public async Task DownloadsFromPythonHttpServer()
    {
        string? python = FindPython();
        if (python is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "python3 is required under CI");
            Assert.Skip("python3 is not installed");
        }
        var root = Directory.CreateTempSubdirectory("meerkat-python-");
        var content = Responses.Pattern(0, 2 * 1024 * 1024 + 5);
        File.WriteAllBytes(Path.Combine(root.FullName, "file.bin"), content);
        int port = FreePort();
        var start = new ProcessStartInfo(python, ["-u", "-m", "http.server", "--bind", "127.0.0.1", port.ToString(), "--directory", root.FullName])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        try
        {
            // http.server prints "Serving HTTP on ..." once it listens (unbuffered with -u).
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(line?.StartsWith("Serving HTTP", StringComparison.Ordinal), $"python3 http.server did not start: {line}");
            await using var client = MeerkatHttpClientTests.NewClient();
            Assert.Equal(content, await client.GetBytesAsync($"http://127.0.0.1:{port}/file.bin"));
            var target = Path.Combine(root.FullName, "copy.bin");
            await client.DownloadAsync($"http://127.0.0.1:{port}/file.bin", target);
            Assert.Equal(content, File.ReadAllBytes(target));
            var error = await Assert.ThrowsAsync<HttpClientException>(() => client.GetBytesAsync($"http://127.0.0.1:{port}/missing"));
            Assert.Equal(404, error.StatusCode);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            root.Delete(recursive: true);
        }
    }

    private static string? FindPython() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "python3")).FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
