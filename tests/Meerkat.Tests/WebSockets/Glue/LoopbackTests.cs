using System.Net.Sockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tls;
using Meerkat.WebSockets;
using EventLog = Meerkat.Tests.Core.EventLog;

namespace Meerkat.Tests.WebSockets.Glue;

/// <summary>Meerkat against itself on one loop (wss://, subprotocols, streaming), and backpressure.</summary>
public class LoopbackTests
{
    [Fact]
    public void Meerkat_client_over_wss_to_a_Meerkat_server_streams_a_big_message_in_pieces()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var server = new WsRecorder { Echo = true };
        var client = new WsRecorder();
        var options = new WebSocketServerOptions
        {
            SelectSubprotocol = offered => offered.Contains("v2") ? "v2" : null,
            Deflate = new PerMessageDeflateOptions { ServerNoContextTakeover = true },
        };
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) c.UpgradeToWebSocket(options);
            else if (c.Role == ConnectionRole.Accepted) server.Observe(c, e);
            else if (c.Role == ConnectionRole.Outbound) client.Observe(c, e);
        };
        var http = new HttpServerOptions { Tls = new TlsServerOptions { Certificate = Tls.TestCertificates.Localhost } };
        var listener = manager.ListenHttp("https://127.0.0.1:0", log.Handler, http);
        var connection = manager.ConnectWebSocket($"wss://127.0.0.1:{listener.LocalEndPoint!.Port}/chat?room=1", log.Handler, new WebSocketClientOptions
        {
            Tls = new TlsClientOptions { TrustedRoots = Tls.TestCertificates.Roots, ServerName = "localhost" },
            Subprotocols = ["v1", "v2"],
            Deflate = new PerMessageDeflateOptions(),
            IsWholeMessageMode = false,
        });
        manager.Until(() => client.Opens == 1, what: "WsOpen over TLS");
        Assert.Equal("v2", connection.WebSocketSubprotocol);
        Assert.True(connection.WebSocketDeflate!.ServerNoContextTakeover);

        var payload = WsTestKit.RandomBytes(1 << 20, 3);
        Assert.True(connection.SendBinary(payload));
        using var received = new MemoryStream();
        manager.Until(() => client.Messages.Count > 1 && client.Messages.Sum(m => m.Data.Length) == payload.Length, what: "the pieces of the echo");
        Assert.True(client.Messages.Count > 2, "a 1 MiB message arrives in several pieces when streaming");
        foreach (var (_, data) in client.Messages) received.Write(data);
        Assert.True(payload.AsSpan().SequenceEqual(received.ToArray()));

        Assert.True(connection.CloseWebSocket());
        manager.Until(() => client.IsClosed && server.IsClosed, what: "both sides to close");
        Assert.Empty(log.Errors);
        log.AssertBalanced(listener);
    }

    [Fact]
    public void A_sender_to_a_slow_reader_sees_IsWritable_go_false_and_its_send_buffer_stays_bounded()
    {
        const int HighWater = 256 * 1024;
        const int MessageSize = 60_000;
        const int Messages = 600; // 36 MB: far more than the socket buffers hold
        using var manager = Loop.Create(PollerBackend.Auto, o => o.SendHighWaterMark = HighWater);
        var log = new EventLog();
        var message = WsTestKit.RandomBytes(MessageSize, 9);
        int sent = 0;
        int maxBuffered = 0;
        bool sawNotWritable = false;
        Connection? serverSide = null;
        void Pump(Connection c)
        {
            while (sent < Messages && c.IsWritable)
            {
                Assert.True(c.SendBinary(message));
                sent++;
                maxBuffered = Math.Max(maxBuffered, c.SendBufferedBytes);
            }
            if (sent < Messages) sawNotWritable = true;
            else c.CloseWebSocket();
        }
        log.Next = (c, e) =>
        {
            // The raw reader never answers our Close: do not wait long for it.
            if (e.Kind == EventKind.HttpHeaders) c.UpgradeToWebSocket(new WebSocketServerOptions { CloseTimeout = TimeSpan.FromMilliseconds(100) });
            else if (e.Kind == EventKind.WsOpen) { serverSide = c; Pump(c); }
            else if (e.Kind == EventKind.Write && c.IsWebSocket) Pump(c);
        };
        var listener = manager.ListenHttp("http://127.0.0.1:0", log.Handler);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", listener.LocalEndPoint!.Port);
        socket.Send(Encoding.ASCII.GetBytes(RawFrameTests.Handshake("dGhlIHNhbXBsZSBub25jZQ==")));

        // The reader does not read: the sender must stop at the high-water mark.
        // The socket buffers take some; then the sender stalls until the reader reads.
        manager.Until(() => sawNotWritable && serverSide is { IsWritable: false }, what: "IsWritable to go false");
        int stalledAt;
        do
        {
            stalledAt = sent;
            for (int i = 0; i < 20; i++) manager.Poll(5);
        }
        while (sent != stalledAt);
        Assert.True(sent < Messages, "the sender never stalled");
        Assert.False(serverSide!.IsWritable);
        Assert.True(maxBuffered <= HighWater + MessageSize + 16, $"send buffer reached {maxBuffered} bytes");

        // Now it reads everything: the sender resumes on Write events and finishes.
        var reader = Task.Run(() => RawFrameTests.ReadToEnd(socket));
        var all = manager.Until(reader);
        Assert.Equal(Messages, sent);
        var (_, frames) = RawFrameTests.SplitHead(all);
        Assert.Equal(Messages * (MessageSize + 4) + 4, frames.Length); // 4-byte headers, then Close(1000)
        manager.Until(() => log.Count(EventKind.Close) == 1);
        log.AssertBalanced(listener);
    }
}
