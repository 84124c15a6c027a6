using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meerkat.Http2;
using Meerkat.Tests.WebSockets.Glue;

namespace Meerkat.Tests.Http2;

/// <summary>
/// The core against peers nobody here wrote, over loopback TCP through a tiny socket pump.
/// Python's h2 (python-hyper, Debian python3-h2): its client against our server core, its server
/// against our client core (HPACK with Huffman and dynamic tables both ways, flow control under
/// small windows), and malformed sequences built with its frame and header encoders. nghttp2's
/// nghttp (Debian nghttp2-client): concurrent uploads and downloads against our server core.
/// </summary>
public class Http2PeerTests
{
    [Fact]
    public void Python_h2_client_gets_every_body_and_header_echoed_by_our_server()
    {
        string python = PythonWithH2();
        using var listener = Listen();
        using var peer = new PeerProcess(python, ["-c", ClientScript, Port(listener).ToString(System.Globalization.CultureInfo.InvariantCulture), "60"]);
        using Socket socket = Accept(listener);
        var server = new Endpoint(isServer: true, new Http2Options { InitialWindowSize = 30_000, MaxConcurrentStreams = 25 }, Stopwatch.GetTimestamp());
        var echo = new EchoServer(server);
        SocketPump.Run(socket, server, echo.Handle, () => peer.Exited.IsCompleted, TimeSpan.FromSeconds(60));
        Assert.True(peer.Exited.Wait(TimeSpan.FromSeconds(10)), "the Python client did not finish");
        Assert.True(peer.ExitCode == 0, peer.Output + peer.Errors);
        Assert.Contains("OK 60", peer.Output, StringComparison.Ordinal);
        Assert.Equal(60, echo.Closes.Count);
        Assert.All(echo.Closes.Values, outcomes => Assert.Equal([Meerkat.Http.HttpOutcome.Completed], outcomes));
    }

    [Fact]
    public void Our_client_gets_every_body_echoed_by_a_python_h2_server()
    {
        string python = PythonWithH2();
        using var peer = new PeerProcess(python, ["-c", ServerScript]);
        Assert.True(peer.FirstLine.Wait(TimeSpan.FromSeconds(20)), "the Python server did not start");
        int port = int.Parse(peer.FirstLine.Result, System.Globalization.CultureInfo.InvariantCulture);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(IPAddress.Loopback, port);
        var client = new Endpoint(isServer: false, new Http2Options { InitialWindowSize = 20_000 }, Stopwatch.GetTimestamp());
        var random = new Random(42);
        byte[][] bodies = Enumerable.Range(0, 40).Select(i => { var b = new byte[i % 5 == 0 ? 0 : random.Next(0, 150_000)]; random.NextBytes(b); return b; }).ToArray();
        var app = new TestClient(client, bodies);
        SocketPump.Run(socket, client, app.Handle, () => { app.Step(); return app.IsDone; }, TimeSpan.FromSeconds(60));
        for (int i = 0; i < bodies.Length; i++) Assert.True(bodies[i].AsSpan().SequenceEqual(app.Responses[i].ToArray()), $"request {i}");
        Assert.All(app.Closes.Values, outcomes => Assert.Equal([Meerkat.Http.HttpOutcome.Completed], outcomes));
        Assert.True(app.WritableEvents > 0, "the Python server's windows should have held our uploads back");
    }

    [Fact]
    public void Nghttp_uploads_and_fetches_concurrently_through_our_server_core()
    {
        // nghttp2's client (Debian nghttp2-client), h2c with prior knowledge, 20 concurrent POSTs of
        // 300 KB under its 2^14-octet stream windows (-w 14), so our sends wait on its WINDOW_UPDATEs.
        string? nghttp = Peers.Find("nghttp");
        if (nghttp is null) Peers.SkipOrFail("nghttp (nghttp2-client)");
        string upload = Path.GetTempFileName();
        try
        {
            byte[] body = new byte[300_000];
            new Random(3).NextBytes(body);
            File.WriteAllBytes(upload, body);
            using var listener = Listen();
            int port = Port(listener);
            using var peer = new PeerProcess(nghttp!, ["-n", "-s", "-w", "14", "-m", "20", "-d", upload, "-H", "x-from: nghttp", $"http://127.0.0.1:{port}/echo"]);
            using Socket socket = Accept(listener);
            var server = new Endpoint(isServer: true, new Http2Options { InitialWindowSize = 65_535 }, Stopwatch.GetTimestamp());
            var echo = new EchoServer(server);
            SocketPump.Run(socket, server, echo.Handle, () => peer.Exited.IsCompleted, TimeSpan.FromSeconds(60));
            Assert.True(peer.Exited.Wait(TimeSpan.FromSeconds(10)), "nghttp did not finish");
            Assert.True(peer.ExitCode == 0, peer.Output + peer.Errors);
            Assert.Equal(20, echo.Closes.Count);
            Assert.All(echo.Closes.Values, outcomes => Assert.Equal([Meerkat.Http.HttpOutcome.Completed], outcomes));
            Assert.Equal(20, peer.Output.Split('\n').Count(line => line.Contains(" 200 ", StringComparison.Ordinal) && line.Contains("/echo", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(upload);
        }
    }

    internal static readonly (string Case, string Expected)[] MalformedCases =
    [
        ("uppercase-name", "RST PROTOCOL_ERROR"),
        ("connection-header", "RST PROTOCOL_ERROR"),
        ("te-gzip", "RST PROTOCOL_ERROR"),
        ("missing-path", "RST PROTOCOL_ERROR"),
        ("pseudo-after-regular", "RST PROTOCOL_ERROR"),
        ("data-after-end-stream", "RST STREAM_CLOSED"),
        ("content-length-mismatch", "RST PROTOCOL_ERROR"),
        ("window-update-zero-stream", "RST PROTOCOL_ERROR"),
        ("even-stream", "GOAWAY PROTOCOL_ERROR"),
        ("data-on-idle-stream", "GOAWAY PROTOCOL_ERROR"),
        ("continuation-interleaved", "GOAWAY PROTOCOL_ERROR"),
        ("settings-bad-window", "GOAWAY FLOW_CONTROL_ERROR"),
        ("ping-bad-length", "GOAWAY FRAME_SIZE_ERROR"),
        ("hpack-garbage", "GOAWAY COMPRESSION_ERROR"),
        ("huffman-headers-ok", "200"),
    ];

    [Fact]
    public void Malformed_sequences_built_by_python_h2_get_the_right_codes()
    {
        string python = PythonWithH2();
        using var listener = Listen();
        using var peer = new PeerProcess(python, ["-c", MalformedScript, Port(listener).ToString(System.Globalization.CultureInfo.InvariantCulture), .. MalformedCases.Select(c => c.Case)]);
        foreach (var _ in MalformedCases)
        {
            // One connection per case, each to a fresh server core; the peer closes it once answered.
            using Socket socket = Accept(listener);
            var server = new Endpoint(isServer: true, null, Stopwatch.GetTimestamp());
            void Answer(Recorded e)
            {
                if (e.Kind == Http2EventKind.Headers && e.IsEndStream) server.Connection.SendHeaders(e.StreamId, new Http2HeaderList().AddStatus(200), endStream: true);
            }

            SocketPump.Run(socket, server, Answer, () => peer.Exited.IsCompleted, TimeSpan.FromSeconds(30));
        }

        Assert.True(peer.Exited.Wait(TimeSpan.FromSeconds(10)), "the Python peer did not finish");
        Assert.Equal(MalformedCases.Select(c => $"{c.Case}: {c.Expected}"), peer.Output.Trim().Split('\n').Select(l => l.Trim()));
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        return listener;
    }

    private static int Port(Socket listener) => ((IPEndPoint)listener.LocalEndPoint!).Port;

    private static Socket Accept(Socket listener)
    {
        Assert.True(listener.Poll(TimeSpan.FromSeconds(20), SelectMode.SelectRead), "the Python peer did not connect");
        return listener.Accept();
    }

    /// <summary>/usr/bin/python3 (or python3 on PATH) able to import h2, or skip (fail under CI).</summary>
    internal static string PythonWithH2()
    {
        foreach (string? python in new[] { "/usr/bin/python3", Peers.Find("python3") })
        {
            if (python is null || !File.Exists(python)) continue;
            using var check = Process.Start(new ProcessStartInfo(python, ["-c", "import h2, hyperframe, hpack"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            check.WaitForExit(20_000);
            if (check.HasExited && check.ExitCode == 0) return python;
        }

        Peers.SkipOrFail("python3 with the h2 package (python3-h2)");
        return null!;
    }

    // A client making `count` concurrent POSTs (25 at a time, our limit) with random bodies and
    // random x- fields, under a 20,000-octet receive window; checks every echo.
    internal const string ClientScript = """
import random, socket, sys
import h2.config, h2.connection, h2.events, h2.settings

port, count = int(sys.argv[1]), int(sys.argv[2])
sock = socket.create_connection(("127.0.0.1", port))
sock.settimeout(30)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 20000})
sock.sendall(conn.data_to_send())
random.seed(7)
todo = list(range(count))
bodies, sent, got, fields, finished = {}, {}, {}, {}, set()

def open_streams():
    while todo and conn.open_outbound_streams < min(conn.remote_settings.max_concurrent_streams, 25):
        i = todo.pop(0)
        sid = conn.get_next_available_stream_id()
        body = random.randbytes(random.choice([0, 1, 100, 5000, 70000, 150000]))
        extra = [("x-index", str(i))] + [("x-r%d" % k, "v" * random.randint(0, 300)) for k in range(random.randint(0, 5))]
        conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":authority", "localhost"), (":path", "/echo/%d" % i), ("user-agent", "python-h2")] + extra, end_stream=not body)
        bodies[sid], sent[sid], got[sid], fields[sid] = body, 0, bytearray(), dict(extra)

def send_bodies():
    for sid, body in bodies.items():
        while sent[sid] < len(body):
            n = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(body) - sent[sid])
            if n <= 0:
                break
            conn.send_data(sid, body[sent[sid]:sent[sid] + n], end_stream=sent[sid] + n == len(body))
            sent[sid] += n

while len(finished) < count:
    open_streams()
    send_bodies()
    sock.sendall(conn.data_to_send())
    data = sock.recv(65536)
    if not data:
        sys.exit("server closed the connection")
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            head = dict(event.headers)
            assert head[":status"] == "200", head
            for name, value in fields[event.stream_id].items():
                assert head.get(name) == value, (name, head.get(name))
        elif isinstance(event, h2.events.DataReceived):
            got[event.stream_id] += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            assert bytes(got[event.stream_id]) == bodies[event.stream_id], "body of stream %d" % event.stream_id
            finished.add(event.stream_id)
        elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
            sys.exit("unexpected %r" % event)
    sock.sendall(conn.data_to_send())
conn.close_connection()
sock.sendall(conn.data_to_send())
print("OK", count)
""";

    // A server echoing each request body with content-length, under a 16,384-octet receive window
    // (so our client's uploads wait for WINDOW_UPDATE). Prints its port first.
    private const string ServerScript = """
import socket, sys
import h2.config, h2.connection, h2.events, h2.settings

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
print(listener.getsockname()[1], flush=True)
listener.settimeout(30)
sock, _ = listener.accept()
sock.settimeout(30)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
conn.initiate_connection()
conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16384, h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 10})
sock.sendall(conn.data_to_send())
bodies, pending = {}, {}

def send_pending():
    for sid in list(pending):
        body, at = pending[sid]
        while at < len(body):
            n = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(body) - at)
            if n <= 0:
                break
            conn.send_data(sid, body[at:at + n], end_stream=at + n == len(body))
            at += n
        if at == len(body):
            del pending[sid]
        else:
            pending[sid] = (body, at)

while True:
    data = sock.recv(65536)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.RequestReceived):
            bodies[event.stream_id] = bytearray()
        elif isinstance(event, h2.events.DataReceived):
            bodies[event.stream_id] += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            body = bytes(bodies.pop(event.stream_id))
            conn.send_headers(event.stream_id, [(":status", "200"), ("content-length", str(len(body)))], end_stream=not body)
            if body:
                pending[event.stream_id] = (body, 0)
        elif isinstance(event, h2.events.ConnectionTerminated):
            sys.exit(0)
    send_pending()
    sock.sendall(conn.data_to_send())
""";

    // One malformed sequence per case, built with h2's own HPACK encoder (Huffman, dynamic table)
    // and hyperframe; prints what our server answered: "RST <code>", "GOAWAY <code>" or the status.
    internal const string MalformedScript = """
import socket, sys
import h2.errors
import hpack, hyperframe.frame as f

port = int(sys.argv[1])
request = [(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", "/")]
post = [(":method", "POST")] + request[1:]

def run(case):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(20)
    encoder, decoder = hpack.Encoder(), hpack.Decoder()

    def frame(fr):
        sock.sendall(fr.serialize())

    def headers(sid, fields, flags=("END_HEADERS",)):
        fr = f.HeadersFrame(sid, encoder.encode(fields, huffman=True))
        fr.flags = set(flags)
        frame(fr)

    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    frame(f.SettingsFrame(0))
    if case == "uppercase-name":
        headers(1, request + [("X-Upper", "1")], ("END_HEADERS", "END_STREAM"))
    elif case == "connection-header":
        headers(1, request + [("connection", "keep-alive")], ("END_HEADERS", "END_STREAM"))
    elif case == "te-gzip":
        headers(1, request + [("te", "gzip")], ("END_HEADERS", "END_STREAM"))
    elif case == "missing-path":
        headers(1, request[:3], ("END_HEADERS", "END_STREAM"))
    elif case == "pseudo-after-regular":
        headers(1, request[:3] + [("accept", "*/*"), (":path", "/")], ("END_HEADERS", "END_STREAM"))
    elif case == "data-after-end-stream":
        headers(1, request, ("END_HEADERS", "END_STREAM"))
        frame(f.DataFrame(1, b"late"))
    elif case == "content-length-mismatch":
        headers(1, post + [("content-length", "10")])
        d = f.DataFrame(1, b"short")
        d.flags = {"END_STREAM"}
        frame(d)
    elif case == "window-update-zero-stream":
        headers(1, post)
        frame(f.WindowUpdateFrame(1, 0))
    elif case == "even-stream":
        headers(2, request, ("END_HEADERS", "END_STREAM"))
    elif case == "data-on-idle-stream":
        frame(f.DataFrame(5, b"x"))
    elif case == "continuation-interleaved":
        frame(f.HeadersFrame(1, encoder.encode(request, huffman=True)[:3]))
        frame(f.DataFrame(1, b"x"))
    elif case == "settings-bad-window":
        frame(f.SettingsFrame(0, settings={4: 2 ** 31}))
    elif case == "ping-bad-length":
        sock.sendall(b"\x00\x00\x07\x06\x00\x00\x00\x00\x00" + b"\x00" * 7)
    elif case == "hpack-garbage":
        fr = f.HeadersFrame(1, b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f")
        fr.flags = {"END_HEADERS"}
        frame(fr)
    elif case == "huffman-headers-ok":
        for i in range(3):
            headers(1 + 2 * i, request + [("user-agent", "python-h2 hpack"), ("x-i", str(i))], ("END_HEADERS", "END_STREAM"))

    buffer, answer = b"", None
    while answer is None:
        data = sock.recv(65536)
        if not data:
            break
        buffer += data
        while answer is None and len(buffer) >= 9:
            fr, length = f.Frame.parse_frame_header(buffer[:9])
            if len(buffer) < 9 + length:
                break
            fr.parse_body(memoryview(buffer[9:9 + length]))
            buffer = buffer[9 + length:]
            if isinstance(fr, f.SettingsFrame) and "ACK" not in fr.flags:
                sock.sendall(f.SettingsFrame(0, flags=["ACK"]).serialize())
            elif isinstance(fr, f.RstStreamFrame):
                answer = "RST " + h2.errors.ErrorCodes(fr.error_code).name
            elif isinstance(fr, f.GoAwayFrame):
                answer = "GOAWAY " + h2.errors.ErrorCodes(fr.error_code).name
            elif isinstance(fr, f.HeadersFrame):
                head = dict(decoder.decode(fr.data))  # every block, in order: our encoder's dynamic table
                if fr.stream_id == 5:
                    answer = head[":status"]
    sock.close()
    print("%s: %s" % (case, answer), flush=True)

for case in sys.argv[2:]:
    run(case)
""";
}

/// <summary>Moves bytes between a socket and an endpoint until done (bounded in time), handing each event to the application.</summary>
internal static class SocketPump
{
    public static void Run(Socket socket, Endpoint endpoint, Action<Recorded> handle, Func<bool> isDone, TimeSpan timeout)
    {
        var buffer = new byte[64 * 1024];
        var clock = Stopwatch.StartNew();
        while (!isDone())
        {
            Assert.True(clock.Elapsed < timeout, $"no result within {timeout}");
            endpoint.Now = Stopwatch.GetTimestamp();
            endpoint.Connection.Tick(endpoint.Now);
            foreach (Recorded e in endpoint.Drain()) handle(e);
            Flush(socket, endpoint);
            if (endpoint.Connection.State == Http2ConnectionState.Closed) break;
            if (!socket.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectRead)) continue;
            int read;
            try
            {
                read = socket.Receive(buffer);
            }
            catch (SocketException)
            {
                read = 0;
            }

            if (read == 0)
            {
                endpoint.Connection.ReceiveEndOfStream();
                foreach (Recorded e in endpoint.Drain()) handle(e);
                return;
            }

            foreach (Recorded e in endpoint.Feed(buffer[..read])) handle(e);
        }

        Flush(socket, endpoint);
    }

    private static void Flush(Socket socket, Endpoint endpoint)
    {
        byte[] output = endpoint.TakeOutput();
        try
        {
            if (output.Length > 0) socket.Send(output);
        }
        catch (SocketException)
        {
            // The peer is gone; what it missed does not matter any more.
        }
    }
}
