using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Meerkat.Cli;
using Meerkat.Http;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Cli;

/// <summary>The demo's live dashboard in a real browser: headless Chromium loads the front page, the
/// test drives it over the DevTools protocol (a WebSocket, ClientWebSocket) while it sends load, and
/// checks that the figures move. A screenshot is taken; with MEERKAT_UPDATE_DOCS=1 it becomes
/// docs/dashboard.png.</summary>
[Collection(Serial.Name)] // the dashboard listens to the process-wide Meerkat meter
public sealed partial class DashboardBrowserTests
{
    [GeneratedRegex(@"DevTools listening on (ws://[^\s]+)")]
    private static partial Regex DevToolsUrl();

    [Fact]
    public async Task The_dashboard_shows_live_figures_that_move_with_the_load()
    {
        string? chromium = Peers.Find("chromium") ?? Peers.Find("chromium-browser");
        if (chromium is null) Peers.SkipOrFail("chromium");
        string root = Directory.CreateTempSubdirectory("meerkat-dashboard-").FullName;
        string profile = Directory.CreateTempSubdirectory("meerkat-chromium-").FullName;
        using var telemetry = new DemoTelemetry();
        using var manager = Loop.Create(PollerBackend.Auto);
        var listener = manager.ListenHttp("http://127.0.0.1:0", new DemoServer(manager, root, telemetry).Handle);
        string url = $"http://127.0.0.1:{listener.LocalEndPoint!.Port}/";
        var loop = manager.RunAsync();
        using var stopLoad = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Process? browser = null;
        try
        {
            var load = Task.Run(() => Load(url + "plaintext", stopLoad.Token));
            browser = StartChromium(chromium!, profile, url, out var devTools);
            using var page = await DevToolsPage.ConnectAsync(await devTools.WaitAsync(TimeSpan.FromSeconds(30)), url);

            // The first snapshots, then later ones: the totals grow and the rate is not zero.
            var first = await page.WaitForAsync(f => f.Updates >= 2 && f.Requests > 0, TimeSpan.FromSeconds(30));
            var later = await page.WaitForAsync(f => f.Updates >= first.Updates + 2 && f.Requests > first.Requests && f.Rps != "0", TimeSpan.FromSeconds(30));
            Assert.NotEqual(first.Requests, later.Requests);
            Assert.Matches(@"^\d", later.P99); // a latency, not the placeholder
            Assert.Matches(@"^[1-9]", later.Connections); // the load's connection, and the browser's
            Assert.Equal("live", later.Status);

            byte[] png = await page.ScreenshotAsync();
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            File.WriteAllBytes(Path.Combine(root, "dashboard.png"), png);
            if (Environment.GetEnvironmentVariable("MEERKAT_UPDATE_DOCS") == "1")
                File.WriteAllBytes(Path.Combine(RepositoryRoot(), "docs", "dashboard.png"), png);
            stopLoad.Cancel();
            await load;
        }
        finally
        {
            stopLoad.Cancel();
            if (browser is { HasExited: false }) browser.Kill(entireProcessTree: true);
            browser?.WaitForExit(10_000);
            browser?.Dispose();
            manager.Stop();
            await loop.WaitAsync(TimeSpan.FromSeconds(30));
            Directory.Delete(root, recursive: true);
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { /* the browser may still be letting go */ }
        }
    }

    /// <summary>What the page shows, read from its DOM.</summary>
    private sealed record Figures(int Updates, long Requests, string Rps, string P99, string Connections, string Status);

    private static Process StartChromium(string chromium, string profile, string url, out Task<string> devToolsUrl)
    {
        var info = new ProcessStartInfo(chromium,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1280,1000",
            $"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-allow-origins=*", url,
        ])
        { RedirectStandardError = true, RedirectStandardOutput = true };
        var process = Process.Start(info)!;
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null && DevToolsUrl().Match(e.Data) is { Success: true } m) found.TrySetResult(m.Groups[1].Value); };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        devToolsUrl = found.Task;
        return process;
    }

    /// <summary>Keep-alive requests from one connection, a few hundred a second, until cancelled (bounded by its token).</summary>
    private static async Task Load(string url, CancellationToken token)
    {
        using var client = new HttpClient();
        while (!token.IsCancellationRequested)
        {
            try
            {
                await client.GetStringAsync(url, token);
                await Task.Delay(2, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Meerkat.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (Meerkat.slnx) is not above the test binaries");
    }

    /// <summary>One page of the browser, driven over the Chrome DevTools protocol.</summary>
    private sealed class DevToolsPage : IDisposable
    {
        private readonly ClientWebSocket socket = new();
        private int nextId;

        public static async Task<DevToolsPage> ConnectAsync(string browserUrl, string pageUrl)
        {
            // The browser endpoint lists its pages at /json/list on the same port.
            var endpoint = new Uri(browserUrl);
            using var http = new HttpClient();
            string? pageSocket = null;
            var deadline = Stopwatch.StartNew();
            while (pageSocket is null)
            {
                using var list = JsonDocument.Parse(await http.GetStringAsync($"http://{endpoint.Authority}/json/list"));
                pageSocket = list.RootElement.EnumerateArray()
                    .Where(t => t.GetProperty("type").GetString() == "page" && t.GetProperty("url").GetString() == pageUrl)
                    .Select(t => t.GetProperty("webSocketDebuggerUrl").GetString()).FirstOrDefault();
                if (pageSocket is null && deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"no page at {pageUrl} in {list.RootElement}");
                if (pageSocket is null) await Task.Delay(50);
            }
            var page = new DevToolsPage();
            await page.socket.ConnectAsync(new Uri(pageSocket), CancellationToken.None);
            return page;
        }

        /// <summary>Reads the figures after each update the page shows until <paramref name="condition"/>
        /// holds (bounded by <paramref name="timeout"/>).</summary>
        public async Task<Figures> WaitForAsync(Func<Figures, bool> condition, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            Figures figures;
            while (!condition(figures = await ReadAsync()))
            {
                if (clock.Elapsed > timeout) Assert.Fail($"the dashboard did not get there in {timeout.TotalSeconds} s: {figures}");
                await NextUpdateAsync(figures.Updates);
            }
            return figures;
        }

        /// <summary>Waits for the page's next update (its <c>data-updates</c> counter passing
        /// <paramref name="seen"/>), watched in the page by a MutationObserver.</summary>
        private async Task NextUpdateAsync(int seen)
        {
            string expression = $$"""
                new Promise(resolve => {
                  const count = () => Number((document.body && document.body.dataset.updates) || 0);
                  if (count() > {{seen}}) return resolve(count());
                  const observer = new MutationObserver(() => { if (count() > {{seen}}) { observer.disconnect(); resolve(count()); } });
                  observer.observe(document.documentElement, { attributes: true, subtree: true, attributeFilter: ['data-updates'] });
                })
                """;
            try
            {
                await CallAsync("Runtime.evaluate", JsonSerializer.Serialize(new { expression, awaitPromise = true, returnByValue = true }));
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains("context was destroyed", StringComparison.Ordinal))
            {
                // The page was still loading and navigated under the promise: the new page is read next.
            }
        }

        public async Task<byte[]> ScreenshotAsync()
        {
            var result = await CallAsync("Page.captureScreenshot", """{"format":"png"}""");
            return Convert.FromBase64String(result.GetProperty("data").GetString()!);
        }

        private async Task<Figures> ReadAsync()
        {
            const string expression = """
                JSON.stringify({
                  updates: Number(document.body.dataset.updates || 0),
                  requests: (document.getElementById('m-requests') || {}).textContent,
                  rps: (document.getElementById('m-rps') || {}).textContent,
                  p99: (document.getElementById('m-p99') || {}).textContent,
                  connections: (document.getElementById('m-conn') || {}).textContent,
                  status: (document.getElementById('live-text') || {}).textContent })
                """;
            var result = await CallAsync("Runtime.evaluate", JsonSerializer.Serialize(new { expression, returnByValue = true }));
            // While the page is still loading there may be no value yet: nothing shown.
            if (!result.GetProperty("result").TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.String) return new Figures(0, 0, "", "", "", "");
            using var values = JsonDocument.Parse(value.GetString()!);
            var v = values.RootElement;
            static string Text(JsonElement figures, string name) => figures.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
            return new Figures(v.GetProperty("updates").GetInt32(), ParseCount(Text(v, "requests")), Text(v, "rps"), Text(v, "p99"), Text(v, "connections"), Text(v, "status"));
        }

        /// <summary>"1,234", "12.3 k", "1.20 M" back to a number (as the page formats it).</summary>
        private static long ParseCount(string text)
        {
            text = text.Replace(",", "", StringComparison.Ordinal).Trim();
            double scale = text.EndsWith(" k", StringComparison.Ordinal) ? 1e3 : text.EndsWith(" M", StringComparison.Ordinal) ? 1e6 : 1;
            return double.TryParse(text.TrimEnd('k', 'M', ' '), System.Globalization.CultureInfo.InvariantCulture, out var n) ? (long)(n * scale) : 0;
        }

        private async Task<JsonElement> CallAsync(string method, string parameters)
        {
            int id = ++nextId;
            var message = Encoding.UTF8.GetBytes($$"""{"id":{{id}},"method":"{{method}}","params":{{parameters}}}""");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await socket.SendAsync(message, WebSocketMessageType.Text, true, timeout.Token);
            var buffer = new byte[1 << 16];
            while (true)
            {
                using var text = new MemoryStream();
                WebSocketReceiveResult received;
                do
                {
                    received = await socket.ReceiveAsync(buffer, timeout.Token);
                    text.Write(buffer, 0, received.Count);
                }
                while (!received.EndOfMessage);
                using var reply = JsonDocument.Parse(text.ToArray());
                if (!reply.RootElement.TryGetProperty("id", out var replyId) || replyId.GetInt32() != id) continue; // an event
                if (reply.RootElement.TryGetProperty("error", out var error)) throw new InvalidOperationException($"{method}: {error}");
                return reply.RootElement.GetProperty("result").Clone();
            }
        }

        public void Dispose() => socket.Dispose();
    }
}
