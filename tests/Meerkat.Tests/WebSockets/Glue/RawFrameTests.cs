using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.WebSockets;
using EventLog = Meerkat.Tests.Core.EventLog;

namespace Meerkat.Tests.WebSockets.Glue;

/// <summary>Hand-made frames over a real socket: what a violation puts on the wire (a Close with the
/// RFC's code, then the server closes TCP), the RFC 6455 handshake example, timers.</summary>
public class RawFrameTests
{
    private const string RfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string RfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private static readonly byte[] MaskKey = [0x37, 0xfa, 0x21, 0x3d];

    /// <summary>A client frame (masked unless told otherwise), with the header bits given.</summary>
    private static byte[] Frame(byte first, ReadOnlySpan<byte> payload, bool masked = true)
    {
        var frame = new List<byte> { first };
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        if (payload.Length <= 125) frame.Add((byte)(maskBit | payload.Length));
        else
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(payload.Length >> 8));
            frame.Add((byte)payload.Length);
        }
        if (masked) frame.AddRange(MaskKey);
        for (int i = 0; i < payload.Length; i++) frame.Add(masked ? (byte)(payload[i] ^ MaskKey[i % 4]) : payload[i]);
        return [.. frame];
    }

    private static byte[] CloseWith(ushort code, ReadOnlySpan<byte> reason)
    {
        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        reason.CopyTo(payload.AsSpan(2));
        return Frame(0x88, payload);
    }

    public static TheoryData<string, byte[], ushort> Violations() => new()
    {
        { "unmasked client frame", Frame(0x81, "hi"u8, masked: false), 1002 },
        { "RSV2 set", Frame(0xA1, "hi"u8), 1002 },
        { "RSV1 without permessage-deflate", Frame(0xC1, "hi"u8), 1002 },
        { "unknown opcode 3", Frame(0x83, "hi"u8), 1002 },
        { "ping over 125 bytes", Frame(0x89, new byte[126]), 1002 },
        { "fragmented ping", Frame(0x09, "p"u8), 1002 },
        { "continuation without a message", Frame(0x80, "x"u8), 1002 },
        { "new message inside a fragmented one", [.. Frame(0x01, "a"u8), .. Frame(0x81, "b"u8)], 1002 },
        { "invalid UTF-8 text", Frame(0x81, [0xC3, 0x28]), 1007 },
        { "invalid UTF-8 across fragments", [.. Frame(0x01, [0xE6, 0x97]), .. Frame(0x80, [0x41])], 1007 },
        { "close code 1005 on the wire", CloseWith(1005, default), 1002 },
        { "close code 2999", CloseWith(2999, default), 1002 },
        { "close reason not UTF-8", CloseWith(1000, [0xFF, 0xFE]), 1007 },
        { "message over the limit", Frame(0x82, new byte[300]), 1009 },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void A_violation_puts_a_close_with_the_RFC_code_on_the_wire_then_TCP_closes(string what, byte[] frames, ushort code)
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log, new WebSocketServerOptions { MaxMessageSize = 200 });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", listener.LocalEndPoint!.Port);
        // The frames travel in the same write as the request: bytes after the upgrade are the WebSocket's.
        socket.Send([.. Encoding.ASCII.GetBytes(Handshake(RfcKey)), .. frames]);
        var reply = manager.Until(Task.Run(() => ReadToEnd(socket)));
        var (head, rest) = SplitHead(reply);
        Assert.Contains("HTTP/1.1 101 Switching Protocols", head);
        Assert.True(rest.Length >= 4 && rest[0] == 0x88, $"{what}: expected a close frame, got {Convert.ToHexString(rest)}");
        Assert.Equal(code, BinaryPrimitives.ReadUInt16BigEndian(rest.AsSpan(2)));
        Assert.Equal(2 + rest[1], rest.Length); // nothing after the Close frame, then end of stream
        manager.Until(() => recorder.IsClosed);
        var violation = recorder.CloseFrame!.Value;
        Assert.True(violation.IsViolation, what);
        Assert.Equal((WebSocketCloseCode)code, violation.Code);
        Assert.Empty(recorder.Messages);
        log.AssertBalanced(listener);
    }

    [Fact]
    public void The_RFC_6455_example_key_over_a_socket_and_the_frame_sent_with_the_request_is_echoed()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", listener.LocalEndPoint!.Port);
        socket.Send([.. Encoding.ASCII.GetBytes(Handshake(RfcKey)), .. Frame(0x81, "hello"u8), .. CloseWith(1000, "bye"u8)]);
        var reply = manager.Until(Task.Run(() => ReadToEnd(socket)));
        var (head, rest) = SplitHead(reply);
        Assert.Contains("\r\nSec-WebSocket-Accept: " + RfcAccept + "\r\n", head);
        Assert.Contains("\r\nUpgrade: websocket\r\n", head);
        Assert.Equal([0x81, 0x05, .. "hello"u8, 0x88, 0x05, 0x03, 0xE8, .. "bye"u8], rest); // the close is echoed with its reason
        manager.Until(() => recorder.IsClosed);
        Assert.Equal(1, log.Count(EventKind.HttpDone));
        Assert.Equal("bye", recorder.CloseFrame!.Value.Reason);
        log.AssertBalanced(listener);
    }

    [Fact]
    public void HttpDone_comes_before_WsOpen_and_no_HTTP_event_follows()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var order = new List<EventKind>();
        log.Next = (c, e) =>
        {
            if (c.Role != ConnectionRole.Accepted) return;
            if (e.Kind is not (EventKind.Read or EventKind.Write or EventKind.Poll)) order.Add(e.Kind);
            if (e.Kind == EventKind.HttpHeaders) c.UpgradeToWebSocket();
        };
        var listener = manager.ListenHttp("http://127.0.0.1:0", log.Handler);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", listener.LocalEndPoint!.Port);
        // A second HTTP request after the upgrade is WebSocket bytes, not a request: it fails as a frame.
        socket.Send([.. Encoding.ASCII.GetBytes(Handshake(RfcKey)), .. Frame(0x89, "p"u8), .. Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n")]);
        _ = manager.Until(Task.Run(() => ReadToEnd(socket)));
        manager.Until(() => order.Contains(EventKind.Close));
        Assert.Equal([EventKind.Open, EventKind.Accept, EventKind.HttpHeaders, EventKind.HttpMessage, EventKind.HttpDone, EventKind.WsOpen, EventKind.WsControl, EventKind.WsControl, EventKind.Close], order);
        log.AssertBalanced(listener);
    }

    [Fact]
    public void Keep_alive_pings_a_quiet_peer_and_fails_a_dead_one()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        var options = new WebSocketServerOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(50), KeepAliveTimeout = TimeSpan.FromMilliseconds(150) };
        var (listener, recorder) = WsTestKit.StartEchoServer(manager, log, options);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", listener.LocalEndPoint!.Port);
        socket.Send(Encoding.ASCII.GetBytes(Handshake(RfcKey)));
        // The peer reads (the ping arrives) but never answers: dead for the server.
        var reply = manager.Until(Task.Run(() => ReadToEnd(socket)));
        var (_, rest) = SplitHead(reply);
        Assert.Equal([0x89, 0x00], rest.AsSpan(0, 2).ToArray());
        manager.Until(() => recorder.IsClosed);
        Assert.IsType<TimeoutException>(Assert.Single(log.Errors));
        log.AssertBalanced(listener);
    }

    [Fact]
    public void A_close_the_peer_never_answers_times_out_and_closes_TCP()
    {
        using var manager = Loop.Create(PollerBackend.Auto);
        var log = new EventLog();
        bool closed = false;
        log.Next = (c, e) =>
        {
            if (e.Kind == EventKind.HttpHeaders) c.UpgradeToWebSocket(new WebSocketServerOptions { CloseTimeout = TimeSpan.FromMilliseconds(100) });
            else if (e.Kind == EventKind.WsOpen) Assert.True(c.CloseWebSocket(WebSocketCloseCode.GoingAway, "shutting down"));
            else if (e.Kind == EventKind.Close && c.Role == ConnectionRole.Accepted) closed = true;
        };
        var listener = manager.ListenHttp("http://127.0.0.1:0", log.Handler);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", listener.LocalEndPoint!.Port);
        socket.Send(Encoding.ASCII.GetBytes(Handshake(RfcKey)));
        var reply = manager.Until(Task.Run(() => ReadToEnd(socket)));
        var (_, rest) = SplitHead(reply);
        Assert.Equal(0x88, rest[0]);
        Assert.Equal(1001, BinaryPrimitives.ReadUInt16BigEndian(rest.AsSpan(2)));
        Assert.Equal("shutting down", Encoding.UTF8.GetString(rest.AsSpan(4)));
        manager.Until(() => closed);
        Assert.Empty(log.Errors);
        log.AssertBalanced(listener);
    }

    internal static string Handshake(string key, string path = "/ws") =>
        $"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";

    internal static byte[] ReadToEnd(Socket socket)
    {
        socket.ReceiveTimeout = 20_000;
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0) all.Write(buffer, 0, n);
        // As a client does once the server closed (RFC 6455 §7.1.1): close our side too.
        socket.Shutdown(SocketShutdown.Both);
        return all.ToArray();
    }

    internal static (string Head, byte[] Frames) SplitHead(byte[] reply)
    {
        int end = reply.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, "no response head: " + Encoding.ASCII.GetString(reply));
        return (Encoding.ASCII.GetString(reply, 0, end + 4), reply[(end + 4)..]);
    }
}
