using System.Diagnostics;
using System.Text;
using Meerkat.Cli;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.WebSockets;

namespace Meerkat.Tests.Cli;

/// <summary><c>meerkat ws</c> as a real process against the demo's /ws echo, served in-process.</summary>
public sealed class WsCommandTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);
    private readonly string baseUrl;

    public WsCommandTests()
    {
        var listener = manager.ListenHttp("http://127.0.0.1:0", new DemoServer(manager, Path.GetTempPath()).Handle);
        baseUrl = $"ws://127.0.0.1:{listener.LocalEndPoint!.Port}";
    }

    public void Dispose() => manager.Dispose();

    private (int ExitCode, string Output, string Errors) Run(string input, params string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Meerkat.Cli.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var info = new ProcessStartInfo(dotnet, ["exec", cli, "ws", .. args])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        using var process = Process.Start(info)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(input);
            process.StandardInput.Close();
            manager.Until(process.WaitForExitAsync());
            return (process.ExitCode, manager.Until(output), manager.Until(errors));
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    [Fact]
    public void Each_stdin_line_is_echoed_by_the_demo_and_end_of_input_closes_cleanly()
    {
        var (exit, output, errors) = Run("hello\nwörld ✓\n\nlast\n", baseUrl + "/ws", "-H", "X-Test: yes");
        Assert.True(exit == ExitCodes.Ok, errors);
        Assert.Equal("hello\nwörld ✓\n\nlast\n", output);
    }

    [Fact]
    public void Reconnect_tries_again_after_a_refused_attempt_and_sends_the_lines_on_the_new_connection()
    {
        int attempts = 0;
        var listener = manager.ListenHttp("http://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders && ++attempts == 1) c.Reply(503, "restarting\n");
            else if (e.Kind == EventKind.HttpHeaders) c.UpgradeToWebSocket();
            else if (e.Kind == EventKind.WsMessage) c.SendMessage(e.WebSocket!.MessageKind, e.Data);
        });
        var (exit, output, errors) = Run("one\ntwo\n", $"ws://127.0.0.1:{listener.LocalEndPoint!.Port}/ws", "--reconnect");
        Assert.True(exit == ExitCodes.Ok, errors);
        Assert.Equal("one\ntwo\n", output);
        Assert.Contains("503", errors);
        Assert.Contains("reconnecting in", errors);
        Assert.Contains("reconnected (attempt 1)", errors);
        Assert.Equal(2, attempts);
    }

    [Fact]
    public void Reconnect_gives_up_on_a_404_and_exits_with_4()
    {
        var (exit, _, errors) = Run("", baseUrl + "/nope", "--reconnect");
        Assert.Equal(ExitCodes.HttpError, exit);
        Assert.Contains("giving up", errors);
    }

    [Fact]
    public void Binary_mode_round_trips_too()
    {
        var (exit, output, errors) = Run("bytes\n", baseUrl + "/ws", "--binary", "--subprotocol", "echo");
        Assert.True(exit == ExitCodes.Ok, errors);
        Assert.Equal("bytes\n", output);
    }

    [Fact]
    public void An_HTTP_error_instead_of_101_exits_with_4_and_names_the_status()
    {
        var (exit, _, errors) = Run("", baseUrl + "/nope");
        Assert.Equal(ExitCodes.HttpError, exit);
        Assert.Contains("404", errors);
    }

    [Fact]
    public void Wss_trusts_the_CA_given_with_cacert_and_refuses_an_unknown_one()
    {
        var options = new HttpServerOptions { Tls = new Meerkat.Tls.TlsServerOptions { Certificate = Meerkat.Tests.Tls.TestCertificates.Localhost } };
        var secure = manager.ListenHttp("https://127.0.0.1:0", new DemoServer(manager, Path.GetTempPath()).Handle, options);
        string url = $"wss://127.0.0.1:{secure.LocalEndPoint!.Port}/ws";
        string ca = Path.Combine(Path.GetTempPath(), $"meerkat-ws-ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(ca, Meerkat.Tests.Tls.TestCertificates.Ca.ExportCertificatePem());
        try
        {
            var (exit, output, errors) = Run("secure hello\n", url, "--cacert", ca);
            Assert.True(exit == ExitCodes.Ok, errors);
            Assert.Equal("secure hello\n", output);
            var refused = Run("", url);
            Assert.Equal(ExitCodes.NetworkError, refused.ExitCode);
            Assert.Contains("not trusted", refused.Errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(ca);
        }
    }

    [Fact]
    public void Bad_arguments_exit_with_2()
    {
        Assert.Equal(ExitCodes.BadArguments, Run("", "http://example.com/").ExitCode);
        Assert.Equal(ExitCodes.BadArguments, Run("", baseUrl + "/ws", "--what").ExitCode);
    }
}
