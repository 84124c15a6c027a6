using System.CommandLine;
using System.Text;
using Meerkat.Cli.CommandLine;
using Meerkat.Tls;
using Meerkat.WebSockets;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat ws URL [--binary] [--subprotocol P]... [-H 'Name: value']... [-k] [--reconnect]</c>: an interactive
/// WebSocket client. Each line of stdin is sent as a text message (binary with --binary); each
/// message received is written to stdout followed by a newline (binary ones as raw bytes). End of
/// stdin closes the WebSocket with 1000 and waits for the server. Exit status: 0 after a normal
/// close (1000, 1001 or none), 3 for a network failure or an error close code, 4 when the
/// handshake got an HTTP error (>= 400), 2 for bad arguments. With --reconnect a connection that
/// ends is opened again (ReconnectingWebSocket: exponential backoff with jitter, each step said on
/// stderr); lines typed meanwhile wait for the next connection; it gives up (exit 3 or 4) only
/// when the server refuses the handshake with a 4xx.
/// </summary>
internal static class WsCommand
{
    private sealed class Settings
    {
        public string? Url;
        public bool Binary;
        public bool Insecure;
        public bool Reconnect;
        public string? CaCert;
        public string? ClientCert;
        public string? ClientKey;
        public List<string> Subprotocols { get; } = [];
        public List<KeyValuePair<string, string>> Headers { get; } = [];
    }

    /// <summary>What happened to the connection, for the exit status.</summary>
    private sealed class Outcome
    {
        public bool IsClosed;
        public int ExitCode = ExitCodes.Ok;
    }

    public static Command Create()
    {
        var symbols = new Symbols();
        var command = symbols.Create();
        command.SetAction(result => Run(symbols.Bind(result)));
        return command;
    }

    private static int Run(Settings settings)
    {
        var options = new WebSocketClientOptions
        {
            Headers = settings.Headers,
            Subprotocols = settings.Subprotocols,
            Deflate = new PerMessageDeflateOptions(),
            Tls = ClientTls.Options(settings.CaCert, settings.Insecure, settings.ClientCert, settings.ClientKey),
        };
        if (settings.Reconnect) return RunReconnecting(settings, options);
        using var manager = new Manager();
        var outcome = new Outcome();
        var pending = new Queue<byte[]?>();
        using var stdout = Console.OpenStandardOutput();
        Connection connection;
        try
        {
            connection = manager.ConnectWebSocket(settings.Url!, (c, e) => Handle(c, e, settings, outcome, pending, stdout), options);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            manager.Post(() => { if (!connection.CloseWebSocket(WebSocketCloseCode.GoingAway)) connection.Close(); });
        };
        while (!outcome.IsClosed) manager.Poll(100);
        return outcome.ExitCode;
    }

    private static void Handle(Connection c, Event e, Settings settings, Outcome outcome, Queue<byte[]?> pending, Stream stdout)
    {
        switch (e.Kind)
        {
            case EventKind.WsOpen:
                if (c.WebSocketSubprotocol is { } subprotocol) Console.Error.WriteLine($"meerkat ws: connected, subprotocol {subprotocol}");
                StartReadingStdin(c.Manager, pending, () => Flush(c, settings.Binary, pending));
                break;
            case EventKind.WsMessage:
                stdout.Write(e.Data);
                if (e.WebSocket!.IsEndOfMessage) stdout.Write("\n"u8);
                stdout.Flush();
                break;
            case EventKind.WsControl when e.WebSocket!.Control == WebSocketControl.Close:
                var info = e.WebSocket!;
                if (info.IsProtocolViolation || info.CloseCode is not (WebSocketCloseCode.NormalClosure or WebSocketCloseCode.GoingAway or WebSocketCloseCode.NoStatusReceived))
                {
                    Console.Error.WriteLine($"meerkat ws: closed with {(int)info.CloseCode} {info.CloseReason}".TrimEnd());
                    outcome.ExitCode = ExitCodes.NetworkError;
                }
                break;
            case EventKind.Write:
                Flush(c, settings.Binary, pending);
                break;
            case EventKind.Error:
                Console.Error.WriteLine($"meerkat ws: {e.Error!.Message}");
                outcome.ExitCode = e.Error is WebSocketHandshakeException { StatusCode: >= 400 } ? ExitCodes.HttpError : ExitCodes.NetworkError;
                break;
            case EventKind.Close:
                outcome.IsClosed = true;
                break;
        }
    }

    /// <summary>--reconnect: the same client on a <see cref="ReconnectingWebSocket"/>. End of stdin (or
    /// Ctrl-C) stops it; the loop ends once it is stopped and its last connection closed.</summary>
    private static int RunReconnecting(Settings settings, WebSocketClientOptions options)
    {
        using var manager = new Manager();
        var outcome = new Outcome();
        var pending = new Queue<byte[]?>();
        using var stdout = Console.OpenStandardOutput();
        ReconnectingWebSocket? socket = null;
        bool reading = false;
        void FlushCurrent()
        {
            // Lines wait for an open connection; the end of input (null) comes after every line was sent.
            while (socket is not null && pending.TryPeek(out var line))
            {
                if (line is null)
                {
                    pending.Clear();
                    Stop(socket, outcome, WebSocketCloseCode.NormalClosure);
                    return;
                }
                if (socket.State != ReconnectingWebSocketState.Open || !socket.Connection!.IsWritable) return;
                if (!(settings.Binary ? socket.Connection.SendBinary(line) : socket.Connection.SendMessage(WebSocketMessageKind.Text, line))) return;
                pending.Dequeue();
            }
        }
        var reconnect = new WebSocketReconnectOptions
        {
            OnReconnect = (ws, r) =>
            {
                Console.Error.WriteLine(r.Kind switch
                {
                    WebSocketReconnectKind.Reconnecting => $"meerkat ws: {r.Disconnect}; reconnecting in {r.Delay.TotalSeconds:0.0} s (attempt {r.Attempt})",
                    WebSocketReconnectKind.Reconnected => $"meerkat ws: reconnected (attempt {r.Attempt})",
                    _ => $"meerkat ws: giving up: {r.Disconnect}",
                });
                if (r.Kind != WebSocketReconnectKind.GaveUp) return;
                outcome.ExitCode = r.Disconnect?.HandshakeStatus >= 400 ? ExitCodes.HttpError : ExitCodes.NetworkError;
                outcome.IsClosed = true;
            },
        };
        try
        {
            socket = ReconnectingWebSocket.Connect(manager, settings.Url!, (c, e) =>
            {
                switch (e.Kind)
                {
                    case EventKind.WsOpen:
                        if (!reading) StartReadingStdin(manager, pending, FlushCurrent);
                        reading = true;
                        FlushCurrent(); // lines typed while disconnected
                        break;
                    case EventKind.WsMessage:
                        stdout.Write(e.Data);
                        if (e.WebSocket!.IsEndOfMessage) stdout.Write("\n"u8);
                        stdout.Flush();
                        break;
                    case EventKind.Write:
                        FlushCurrent();
                        break;
                    case EventKind.Close when socket!.State == ReconnectingWebSocketState.Stopped:
                        outcome.IsClosed = true;
                        break;
                }
            }, options, reconnect);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            manager.Post(() => Stop(socket, outcome, WebSocketCloseCode.GoingAway));
        };
        while (!outcome.IsClosed) manager.Poll(100);
        return outcome.ExitCode;
    }

    /// <summary>Stops reconnecting and closes the open connection; with none, the command is done.</summary>
    private static void Stop(ReconnectingWebSocket socket, Outcome outcome, WebSocketCloseCode code)
    {
        bool connected = socket.Connection is { State: < ConnectionState.Closing };
        socket.Stop(code);
        if (!connected) outcome.IsClosed = true;
    }

    /// <summary>Reads stdin on a background thread; each line goes to the loop through Post, then
    /// <paramref name="flush"/> sends what it can. End of input queues a null (close once the lines are out).</summary>
    private static void StartReadingStdin(Manager manager, Queue<byte[]?> pending, Action flush)
    {
        var thread = new Thread(() =>
        {
            while (Console.In.ReadLine() is { } line)
            {
                var bytes = Encoding.UTF8.GetBytes(line);
                manager.Post(() => { pending.Enqueue(bytes); flush(); });
            }
            manager.Post(() => { pending.Enqueue(null); flush(); });
        })
        { IsBackground = true, Name = "meerkat ws stdin" };
        thread.Start();
    }

    /// <summary>Sends queued lines while the connection takes them (a null entry is end of input).</summary>
    private static void Flush(Connection c, bool binary, Queue<byte[]?> pending)
    {
        while (pending.TryPeek(out var line) && c.IsWritable)
        {
            if (line is null)
            {
                pending.Clear();
                c.CloseWebSocket();
                return;
            }
            bool sent = binary ? c.SendBinary(line) : c.SendMessage(WebSocketMessageKind.Text, line);
            if (!sent) return;
            pending.Dequeue();
        }
    }

    /// <summary>The command's options and argument, and how they become <see cref="Settings"/>.</summary>
    private sealed class Symbols
    {
        private readonly Argument<string?> url = CliSymbols.Positional("URL", "the ws:// or wss:// URL to connect to");
        private readonly Option<bool> binary = CliSymbols.Flag("--binary", "send each line as a binary message");
        private readonly Option<string[]> subprotocols = CliSymbols.Repeated("--subprotocol", "P", "offer subprotocol P (repeatable)");
        private readonly Option<string[]> headers = CliSymbols.Repeated("--header", "'Name: value'", "add a handshake header (repeatable)", "-H");
        private readonly Option<string?> caCert = CliSymbols.Value("--cacert", "FILE", "trust the CA certificates of FILE (PEM) instead of the system store");
        private readonly Option<string?> clientCert = CliSymbols.Value("--cert", "FILE", "present this client certificate (PEM), with --key");
        private readonly Option<string?> clientKey = CliSymbols.Value("--key", "FILE", "the private key of --cert (PEM)");
        private readonly Option<bool> insecure = CliSymbols.Flag("--insecure", "accept any server certificate", "-k");
        private readonly Option<bool> reconnect = CliSymbols.Flag("--reconnect", "reconnect when the connection ends (exponential backoff with jitter)");

        public Command Create() => new("ws", "WebSocket client: each stdin line is a message, each message received a line")
        {
            url, binary, subprotocols, headers, caCert, clientCert, clientKey, insecure, reconnect,
        };

        public Settings Bind(ParseResult result)
        {
            var settings = new Settings
            {
                Url = result.GetValue(url),
                Binary = result.GetValue(binary),
                Insecure = result.GetValue(insecure),
                Reconnect = result.GetValue(reconnect),
                CaCert = result.GetValue(caCert),
                ClientCert = result.GetValue(clientCert),
                ClientKey = result.GetValue(clientKey),
            };
            settings.Subprotocols.AddRange(result.GetValue(subprotocols) ?? []);
            foreach (var header in result.GetValue(headers) ?? [])
            {
                int colon = header.IndexOf(':');
                if (colon <= 0) throw new UsageException($"-H takes 'Name: value', not '{header}'");
                settings.Headers.Add(new(header[..colon].Trim(), header[(colon + 1)..].Trim()));
            }
            if (settings.Url is null) throw new UsageException("a ws:// or wss:// URL is required");
            if (!settings.Url.StartsWith("ws://", StringComparison.OrdinalIgnoreCase) && !settings.Url.StartsWith("wss://", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"'{settings.Url}' is not a ws:// or wss:// URL");
            return settings;
        }
    }
}
