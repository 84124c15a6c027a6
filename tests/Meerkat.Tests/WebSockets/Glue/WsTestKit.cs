using System.Diagnostics;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.WebSockets;
using EventLog = Meerkat.Tests.Core.EventLog;

namespace Meerkat.Tests.WebSockets.Glue;

/// <summary>What one Meerkat WebSocket endpoint received, recorded from its events (copies).</summary>
internal sealed class WsRecorder
{
    public List<(WebSocketMessageKind Kind, byte[] Data)> Messages { get; } = [];

    public List<(WebSocketControl Control, byte[] Data, WebSocketCloseCode Code, string Reason, bool IsViolation)> Controls { get; } = [];

    public int Opens { get; private set; }

    public bool IsClosed { get; private set; }

    public bool IsCompressed { get; private set; }

    public bool Echo { get; init; }

    public void Observe(Connection c, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.WsOpen:
                Opens++;
                IsCompressed = c.WebSocketDeflate is not null;
                break;
            case EventKind.WsMessage:
                var kind = e.WebSocket!.MessageKind;
                Messages.Add((kind, e.Data.ToArray()));
                if (Echo && !c.SendMessage(kind, e.Data)) throw new InvalidOperationException("echo refused");
                break;
            case EventKind.WsControl:
                var info = e.WebSocket!;
                Controls.Add((info.Control, e.Data.ToArray(), info.CloseCode, info.CloseReason, info.IsProtocolViolation));
                break;
            case EventKind.Close:
                IsClosed = true;
                break;
        }
    }

    public (WebSocketControl Control, byte[] Data, WebSocketCloseCode Code, string Reason, bool IsViolation)? CloseFrame =>
        Controls.Where(c => c.Control == WebSocketControl.Close).Select(c => ((WebSocketControl, byte[], WebSocketCloseCode, string, bool)?)c).FirstOrDefault();
}

/// <summary>Shared pieces of the WebSocket glue tests: a Meerkat echo server, payloads, external peers.</summary>
internal static class WsTestKit
{
    public static readonly int[] Lengths = [0, 1, 125, 126, 65535, 65536, 16 * 1024 * 1024];

    public const string Utf8Text = "héllo wörld — 日本語のテキスト 🦦✓ ";

    /// <summary>A Meerkat HTTP listener that upgrades /ws (echoing every message) and answers 404 elsewhere.</summary>
    public static (Connection Listener, WsRecorder Recorder) StartEchoServer(Manager manager, EventLog log, WebSocketServerOptions? options = null, HttpServerOptions? http = null, string scheme = "http")
    {
        var recorder = new WsRecorder { Echo = true };
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders)
            {
                if (e.Request!.PathIs("/ws"u8)) c.UpgradeToWebSocket(options);
                else c.Reply(404, "no such page\n");
                return;
            }
            if (e.Kind is EventKind.WsMessage or EventKind.WsControl or EventKind.WsOpen || e.Kind == EventKind.Close && c.Role == ConnectionRole.Accepted)
                recorder.Observe(c, e);
        };
        var listener = manager.ListenHttp($"{scheme}://127.0.0.1:0", log.Handler, http);
        return (listener, recorder);
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string LongText(int repeat) => string.Concat(Enumerable.Repeat(Utf8Text, repeat));

    /// <summary>The repository root (for .ci/node).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Meerkat.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>/usr/bin/python3 with the websockets package (the Debian package .ci/run installs), or skip/fail.</summary>
    public static string PythonWithWebsockets()
    {
        foreach (var python in new[] { "/usr/bin/python3", Peers.Find("python3") })
        {
            if (python is null || !File.Exists(python)) continue;
            using var check = Process.Start(new ProcessStartInfo(python, ["-c", "import websockets"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            check.WaitForExit(20_000);
            if (check.HasExited && check.ExitCode == 0) return python;
        }
        Peers.SkipOrFail("python3 with the websockets package (python3-websockets)");
        return null!;
    }

    /// <summary>node with the ws package at .ci/node (installed by .ci/run), or skip/fail.</summary>
    public static (string Node, string NodePath) NodeWithWs()
    {
        string modules = Path.Combine(RepositoryRoot, ".ci", "node", "node_modules");
        string? node = Peers.Find("node");
        if (node is null || !Directory.Exists(Path.Combine(modules, "ws"))) Peers.SkipOrFail("node with the ws package in .ci/node (npm install --prefix .ci/node ws@8)");
        return (node!, modules);
    }
}

/// <summary>An external peer process: started with a script, stdout collected, killed by PID at the end.</summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder errors = new();
    private readonly TaskCompletionSource<string> firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PeerProcess(string program, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            firstLine.TrySetResult(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.Exited += (_, _) => firstLine.TrySetResult("");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Exited = process.WaitForExitAsync();
    }

    public Task Exited { get; }

    public int ExitCode => process.ExitCode;

    /// <summary>The first line the peer prints (servers print their port).</summary>
    public Task<string> FirstLine => firstLine.Task;

    public string Output { get { lock (output) return output.ToString(); } }

    public string Errors { get { lock (errors) return errors.ToString(); } }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited) process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
        process.Dispose();
    }
}
