using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using Meerkat.WebSockets;
using Xunit;
using DotNetMessageType = System.Net.WebSockets.WebSocketMessageType;

namespace Meerkat.Tests.WebSockets;

/// <summary>
/// Cross-checks our frames against .NET's own WebSocket (a peer nobody here wrote), joined by
/// in-memory pipes: an echo matrix over roles, compression settings, lengths and message types.
/// </summary>
public class DotNetWebSocketInteropTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<WebSocketRole, int> Matrix()
    {
        var data = new TheoryData<WebSocketRole, int>();
        foreach (WebSocketRole role in Enum.GetValues<WebSocketRole>())
        {
            for (int deflate = 0; deflate < 4; deflate++)
            {
                data.Add(role, deflate);
            }
        }

        return data;
    }

    /// <summary>
    /// 0: none; 1: context takeover; 2: no context takeover; 3: the peer compresses with a 9-bit
    /// window (we inflate with 15, which reads any smaller window) while we compress with 15 —
    /// the only small-window agreement our negotiation ever makes, since .NET compresses with 15 only.
    /// </summary>
    private static (WebSocketDeflateOptions? Theirs, PerMessageDeflateParameters? Ours) Deflate(int setting, WebSocketRole ourRole) => setting switch
    {
        0 => (null, null),
        1 => (new WebSocketDeflateOptions(), new PerMessageDeflateParameters(false, false)),
        2 => (new WebSocketDeflateOptions { ClientContextTakeover = false, ServerContextTakeover = false }, new PerMessageDeflateParameters(true, true)),
        _ when ourRole == WebSocketRole.Server => (new WebSocketDeflateOptions { ClientMaxWindowBits = 9 }, new PerMessageDeflateParameters(false, false, 15, 9)),
        _ => (new WebSocketDeflateOptions { ServerMaxWindowBits = 9 }, new PerMessageDeflateParameters(false, false, 9, 15)),
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Echo_matrix_against_dotnet_websocket(WebSocketRole ourRole, int deflateSetting)
    {
        CancellationToken token = new CancellationTokenSource(Timeout).Token;
        (WebSocketDeflateOptions? theirs, PerMessageDeflateParameters? ours) = Deflate(deflateSetting, ourRole);
        await using var link = new Link(ourRole, theirs, ours);
        var random = new Random(deflateSetting);
        foreach (int length in new[] { 0, 1, 125, 126, 65535, 65536, 1 << 20 })
        {
            foreach (DotNetMessageType type in new[] { DotNetMessageType.Binary, DotNetMessageType.Text })
            {
                byte[] payload = type == DotNetMessageType.Text ? TextOfLength(length) : RandomBytes(random, length);

                // Theirs -> ours: we receive it whole and echo it with our writer.
                await link.Theirs.SendAsync(payload, type, endOfMessage: true, token);
                RecordedEvent received = (await link.PumpUntil(e => e.Kind == WebSocketEventKind.Message, token))[^1];
                Assert.Equal(payload, received.Payload);
                Assert.Equal(type == DotNetMessageType.Text ? WebSocketMessageKind.Text : WebSocketMessageKind.Binary, received.MessageKind);
                link.Ours.SendMessage(received.MessageKind, received.Payload, link.Output);
                await link.Flush(token);
                (byte[] echoed, DotNetMessageType echoedType) = await ReceiveAll(link.Theirs, token);
                Assert.Equal(payload, echoed);
                Assert.Equal(type, echoedType);
            }
        }

        await CloseFromTheirSide(link, token);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Fragments_and_pings_from_us_reach_dotnet(WebSocketRole ourRole, int deflateSetting)
    {
        CancellationToken token = new CancellationTokenSource(Timeout).Token;
        (WebSocketDeflateOptions? theirs, PerMessageDeflateParameters? ours) = Deflate(deflateSetting, ourRole);
        await using var link = new Link(ourRole, theirs, ours);
        byte[] text = "κόσμε 𝄞 fragmented across frames"u8.ToArray();
        link.Ours.SendFragment(WebSocketMessageKind.Text, text.AsSpan(0, 3), isEndOfMessage: false, link.Output);
        link.Ours.SendPing("ping"u8, link.Output);
        link.Ours.SendFragment(WebSocketMessageKind.Text, text.AsSpan(3, 10), isEndOfMessage: false, link.Output);
        link.Ours.SendFragment(WebSocketMessageKind.Text, text.AsSpan(13), isEndOfMessage: true, link.Output);
        await link.Flush(token);
        (byte[] received, DotNetMessageType type) = await ReceiveAll(link.Theirs, token);
        Assert.Equal(text, received);
        Assert.Equal(DotNetMessageType.Text, type);

        // .NET answers our ping with a pong while it reads.
        List<RecordedEvent> events = await link.PumpUntil(e => e.Kind == WebSocketEventKind.Pong, token);
        Assert.Equal("ping", events[^1].Text);

        // .NET sends fragments; we assemble them.
        await link.Theirs.SendAsync(text.AsMemory(0, 5), DotNetMessageType.Binary, endOfMessage: false, token);
        await link.Theirs.SendAsync(text.AsMemory(5), DotNetMessageType.Binary, endOfMessage: true, token);
        Assert.Equal(text, (await link.PumpUntil(e => e.Kind == WebSocketEventKind.Message, token))[^1].Payload);

        await CloseFromOurSide(link, token);
    }

    private static async Task CloseFromTheirSide(Link link, CancellationToken token)
    {
        Task closing = link.Theirs.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", token);
        RecordedEvent close = (await link.PumpUntil(e => e.Kind == WebSocketEventKind.Close, token))[^1];
        Assert.Equal((WebSocketCloseCode.NormalClosure, "done"), (close.CloseCode, close.Text));
        await link.Flush(token); // our automatic echo
        await closing;
        Assert.Equal(WebSocketProtocolState.Closed, link.Ours.State);
        Assert.Equal(System.Net.WebSockets.WebSocketState.Closed, link.Theirs.State);
    }

    private static async Task CloseFromOurSide(Link link, CancellationToken token)
    {
        link.Ours.SendClose(WebSocketCloseCode.GoingAway, "bye", link.Output);
        await link.Flush(token);
        WebSocketReceiveResult result = await link.Theirs.ReceiveAsync(new byte[16], token);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, result.CloseStatus);
        Assert.Equal("bye", result.CloseStatusDescription);
        await link.Theirs.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "bye", token);
        RecordedEvent echo = (await link.PumpUntil(e => e.Kind == WebSocketEventKind.Close, token))[^1];
        Assert.Equal(WebSocketCloseCode.GoingAway, echo.CloseCode);
        Assert.Equal(WebSocketProtocolState.Closed, link.Ours.State);
    }

    private static async Task<(byte[] Data, DotNetMessageType Type)> ReceiveAll(WebSocket socket, CancellationToken token)
    {
        var data = new ArrayBufferWriter<byte>();
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(data.GetMemory(64 * 1024), token);
            data.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return (data.WrittenSpan.ToArray(), result.MessageType);
            }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] TextOfLength(int length)
    {
        const string Sample = "ASCII and κόσμε and 𝄞 ";
        var text = new List<byte>(length + 8);
        byte[] sample = System.Text.Encoding.UTF8.GetBytes(Sample);
        while (text.Count + sample.Length <= length)
        {
            text.AddRange(sample);
        }

        while (text.Count < length)
        {
            text.Add((byte)'x');
        }

        return text.ToArray();
    }

    /// <summary>Our engine on one end of two pipes, .NET's WebSocket on the other.</summary>
    private sealed class Link : IAsyncDisposable
    {
        // No back-pressure: each side sends a whole message before the other starts reading.
        private static readonly PipeOptions Unbounded = new(pauseWriterThreshold: 0, resumeWriterThreshold: 0);

        private readonly Pipe _toUs = new(Unbounded);
        private readonly Pipe _toThem = new(Unbounded);

        public Link(WebSocketRole ourRole, WebSocketDeflateOptions? theirDeflate, PerMessageDeflateParameters? ourDeflate)
        {
            Ours = new WebSocketProtocol(ourRole, new WebSocketOptions { MaxMessageSize = 4 << 20 }, ourDeflate);
            var stream = new DuplexStream(_toThem.Reader.AsStream(), _toUs.Writer.AsStream());
            Theirs = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = ourRole == WebSocketRole.Client,
                KeepAliveInterval = TimeSpan.Zero,
                DangerousDeflateOptions = theirDeflate,
            });
        }

        public WebSocketProtocol Ours { get; }

        public WebSocket Theirs { get; }

        public ArrayBufferWriter<byte> Output { get; } = new();

        /// <summary>Sends what our engine wrote.</summary>
        public async Task Flush(CancellationToken token)
        {
            if (Output.WrittenCount > 0)
            {
                await _toThem.Writer.WriteAsync(Output.WrittenMemory, token);
                Output.Clear();
            }
        }

        /// <summary>Feeds what .NET sent into our engine until an event matches.</summary>
        public async Task<List<RecordedEvent>> PumpUntil(Func<RecordedEvent, bool> isDone, CancellationToken token)
        {
            var events = new List<RecordedEvent>();
            while (!events.Any(isDone))
            {
                ReadResult read = await _toUs.Reader.ReadAsync(token);
                foreach (ReadOnlyMemory<byte> segment in read.Buffer)
                {
                    Feed(segment.Span, events);
                }

                _toUs.Reader.AdvanceTo(read.Buffer.End);
                await Flush(token);
                Assert.False(read.IsCompleted && !events.Any(isDone), "the peer stopped sending");
            }

            return events;
        }

        public async ValueTask DisposeAsync()
        {
            Theirs.Abort();
            Theirs.Dispose();
            Ours.Dispose();
            await _toThem.Writer.CompleteAsync();
            await _toUs.Writer.CompleteAsync();
        }

        private void Feed(ReadOnlySpan<byte> bytes, List<RecordedEvent> events)
        {
            while (true)
            {
                WebSocketEvent e = Ours.Receive(bytes, out int used, Output);
                bytes = bytes[used..];
                if (e.Kind == WebSocketEventKind.NeedMoreData)
                {
                    return;
                }

                Assert.NotEqual(WebSocketEventKind.ProtocolViolation, e.Kind);
                events.Add(RecordedEvent.From(e));
            }
        }
    }

    /// <summary>One stream reading from one pipe and writing to another.</summary>
    private sealed class DuplexStream(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => input.ReadAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => output.WriteAsync(buffer, cancellationToken);

        public override void Flush() => output.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
