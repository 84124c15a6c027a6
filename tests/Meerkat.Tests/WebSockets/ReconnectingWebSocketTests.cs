using System.Net.WebSockets;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Client;
using Meerkat.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.WebSockets;

public class ReconnectingWebSocketTests
{
    private static readonly WebSocketReconnectOptions Fast = new() { InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public void The_backoff_doubles_from_the_initial_delay_up_to_the_cap_within_the_jitter_band()
    {
        var backoff = new ReconnectBackoff(new WebSocketReconnectOptions { InitialDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(5), Jitter = 0.2 });
        Assert.Equal([500, 1000, 2000, 4000, 5000, 5000], Enumerable.Range(0, 6).Select(_ => backoff.NextDelay(0.5).TotalMilliseconds));
        Assert.Equal(6, backoff.Failures);
        backoff.Reset();
        Assert.Equal(400, backoff.NextDelay(0).TotalMilliseconds, 3);
        Assert.Equal(1200, backoff.NextDelay(1).TotalMilliseconds, 3);
        Assert.Equal(2000, backoff.NextDelay(0.5).TotalMilliseconds, 3);
        Assert.Equal(4000 * 0.9, backoff.NextDelay(0.25).TotalMilliseconds, 3);
        Assert.Equal(5000, backoff.NextDelay(1).TotalMilliseconds, 3); // never above the cap
        var limited = new ReconnectBackoff(new WebSocketReconnectOptions { MaxAttempts = 2 });
        limited.NextDelay(0.5);
        Assert.False(limited.IsExhausted);
        limited.NextDelay(0.5);
        Assert.True(limited.IsExhausted);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(new WebSocketReconnectOptions { Jitter = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(new WebSocketReconnectOptions { InitialDelay = TimeSpan.FromSeconds(9), MaxDelay = TimeSpan.FromSeconds(1) }));
    }

    /// <summary>A Meerkat WebSocket server on the test's manager: echoes, and drops the connection on "drop".</summary>
    private static int EchoServer(Manager manager, out Connection listener, int port = 0)
    {
        var router = new Router();
        router.MapWebSocket("/ws", (c, e, route) =>
        {
            if (e.Kind != EventKind.WsMessage) return;
            if (e.WebSocketText == "drop") c.Close();
            else if (e.WebSocketText == "bye") c.CloseWebSocket(WebSocketCloseCode.GoingAway, "restarting");
            else c.SendText("echo " + e.WebSocketText);
        });
        listener = manager.ListenHttp($"http://127.0.0.1:{port}", router.Handle);
        return listener.LocalEndPoint!.Port;
    }

    private sealed class Recorder
    {
        public List<string> Lines { get; } = [];

        public int Opens;

        public ConnectionHandler Handler => (c, e) =>
        {
            if (e.Kind == EventKind.WsOpen) Opens++;
            if (e.Kind == EventKind.WsMessage) Lines.Add(e.WebSocketText!);
        };

        public WebSocketReconnectOptions Options(WebSocketReconnectOptions baseline, List<WebSocketReconnectEvent> events) => new()
        {
            InitialDelay = baseline.InitialDelay,
            MaxDelay = baseline.MaxDelay,
            MaxAttempts = baseline.MaxAttempts,
            OnReconnect = (ws, r) => events.Add(r),
        };
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void A_dropped_connection_is_reconnected_and_messages_flow_again(PollerBackend backend)
    {
        using var manager = Loop.Create(backend);
        int port = EchoServer(manager, out _);
        var recorder = new Recorder();
        var events = new List<WebSocketReconnectEvent>();
        var ws = ReconnectingWebSocket.Connect(manager, $"ws://127.0.0.1:{port}/ws", recorder.Handler, reconnect: recorder.Options(Fast, events));
        manager.Until(() => ws.State == ReconnectingWebSocketState.Open);
        Assert.True(ws.SendText("one"));
        manager.Until(() => recorder.Lines.Count == 1);
        Assert.True(ws.SendText("drop"));
        manager.Until(() => events.Count == 1);
        Assert.False(ws.SendText("lost"));
        Assert.Equal(WebSocketReconnectKind.Reconnecting, events[0].Kind);
        Assert.Equal(1, events[0].Attempt);
        Assert.True(events[0].Disconnect!.WasOpen);
        manager.Until(() => ws.State == ReconnectingWebSocketState.Open);
        Assert.Equal(WebSocketReconnectKind.Reconnected, events[1].Kind);
        Assert.True(ws.SendText("two"));
        manager.Until(() => recorder.Lines.Count == 2);
        Assert.Equal(["echo one", "echo two"], recorder.Lines);
        Assert.Equal(2, recorder.Opens);
        Assert.Equal(1, ws.Reconnects);

        Assert.True(ws.SendText("bye")); // a Going Away close: come back too
        manager.Until(() => ws.Reconnects == 2);
        Assert.Equal(WebSocketCloseCode.GoingAway, events[2].Disconnect!.CloseCode);
        Assert.Equal("restarting", events[2].Disconnect!.CloseReason);
        ws.Stop();
        manager.Until(() => ws.Connection is null);
        Assert.Equal(ReconnectingWebSocketState.Stopped, ws.State);
        Assert.Equal(4, events.Count);
    }

    [Fact]
    public void While_the_server_is_down_attempts_back_off_and_the_first_one_after_it_returns_reconnects()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        int port = EchoServer(manager, out var listener);
        var recorder = new Recorder();
        var events = new List<WebSocketReconnectEvent>();
        var ws = ReconnectingWebSocket.Connect(manager, $"ws://127.0.0.1:{port}/ws", recorder.Handler, reconnect: recorder.Options(Fast, events));
        manager.Until(() => ws.State == ReconnectingWebSocketState.Open);
        listener.Close();
        foreach (var c in manager.Connections.Where(c => c.Role == ConnectionRole.Accepted).ToArray()) c.Close();
        manager.Until(() => events.Count >= 4, what: "three failed attempts");
        var waits = events.Where(e => e.Kind == WebSocketReconnectKind.Reconnecting).ToArray();
        Assert.Equal([1, 2, 3, 4], waits.Take(4).Select(e => e.Attempt));
        Assert.True(waits[3].Delay > waits[0].Delay, $"{waits[3].Delay} after {waits[0].Delay}");
        Assert.IsType<System.Net.Sockets.SocketException>(waits[1].Disconnect!.Error?.GetBaseException() ?? waits[1].Disconnect!.Error, exactMatch: false);
        EchoServer(manager, out _, port);
        manager.Until(() => ws.State == ReconnectingWebSocketState.Open, what: "the reconnection");
        var back = events.Last();
        Assert.Equal(WebSocketReconnectKind.Reconnected, back.Kind);
        Assert.True(back.Attempt >= 4);
        ws.Stop();
    }

    [Fact]
    public void A_handshake_refused_with_a_client_error_gives_up_at_once()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        int port = EchoServer(manager, out _);
        var events = new List<WebSocketReconnectEvent>();
        var ws = ReconnectingWebSocket.Connect(manager, $"ws://127.0.0.1:{port}/nowhere", null, reconnect: new Recorder().Options(Fast, events));
        manager.Until(() => ws.State == ReconnectingWebSocketState.Stopped);
        var gaveUp = Assert.Single(events);
        Assert.Equal(WebSocketReconnectKind.GaveUp, gaveUp.Kind);
        Assert.Equal(404, gaveUp.Disconnect!.HandshakeStatus);
        Assert.Null(ws.Connection);
    }

    [Fact]
    public void Max_attempts_bound_the_retries()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        int port = EchoServer(manager, out var listener);
        listener.Close();
        manager.Poll(0);
        var events = new List<WebSocketReconnectEvent>();
        var ws = ReconnectingWebSocket.Connect(manager, $"ws://127.0.0.1:{port}/ws", null,
            reconnect: new Recorder().Options(new WebSocketReconnectOptions { InitialDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(10), MaxAttempts = 3 }, events));
        manager.Until(() => ws.State == ReconnectingWebSocketState.Stopped);
        Assert.Equal([WebSocketReconnectKind.Reconnecting, WebSocketReconnectKind.Reconnecting, WebSocketReconnectKind.Reconnecting, WebSocketReconnectKind.GaveUp], events.Select(e => e.Kind));
    }

    [Fact]
    public void Kestrel_aborting_the_first_websocket_is_survived()
    {
        int accepted = 0;
        var kestrel = Task.Run(() => Kestrel.StartAsync(app =>
        {
            app.UseWebSockets();
            app.Map("/ws", async context =>
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                if (Interlocked.Increment(ref accepted) == 1)
                {
                    context.Abort();
                    return;
                }
                var buffer = new byte[1024];
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (received.MessageType == WebSocketMessageType.Close) break;
                    await socket.SendAsync(buffer.AsMemory(0, received.Count), WebSocketMessageType.Text, true, CancellationToken.None);
                }
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            });
        })).GetAwaiter().GetResult();
        try
        {
            using var manager = Loop.Create(PollerBackend.Auto);
            var recorder = new Recorder();
            var events = new List<WebSocketReconnectEvent>();
            var ws = ReconnectingWebSocket.Connect(manager, kestrel.Url.Replace("http://", "ws://") + "/ws", recorder.Handler, reconnect: recorder.Options(Fast, events));
            manager.Until(() => ws.Reconnects == 1 && ws.State == ReconnectingWebSocketState.Open);
            Assert.True(ws.SendText("hello kestrel"));
            manager.Until(() => recorder.Lines.Count == 1);
            Assert.Equal("hello kestrel", recorder.Lines[0]);
            Assert.Equal(2, accepted);
            ws.Stop();
            manager.Until(() => ws.Connection is null);
        }
        finally
        {
            Task.Run(async () => await kestrel.DisposeAsync()).GetAwaiter().GetResult();
        }
    }
}
