using Xunit;
using System.Buffers;
using System.Text;
using Meerkat.WebSockets;

namespace Meerkat.Tests.WebSockets;

/// <summary>An event copied out of a <see cref="WebSocketEvent"/> so that tests can keep it.</summary>
internal sealed record RecordedEvent(WebSocketEventKind Kind, WebSocketMessageKind MessageKind, byte[] Payload, WebSocketCloseCode CloseCode, string? Reason)
{
    public static RecordedEvent From(in WebSocketEvent e) =>
        new(e.Kind, e.MessageKind, e.Payload.ToArray(), e.CloseCode, e.Reason);

    public string Text => Encoding.UTF8.GetString(Payload);

    public override string ToString() => $"{Kind} {MessageKind} [{Payload.Length}] {CloseCode} {Reason}";
}

/// <summary>Ways of cutting input, per STYLE.md §12: whole, byte by byte, split at a position.</summary>
internal static class Feeding
{
    /// <summary>Feeds chunks in order; records events with consecutive data pieces merged.</summary>
    public static List<RecordedEvent> Read(WebSocketFrameReader reader, IEnumerable<byte[]> chunks)
    {
        var events = new List<RecordedEvent>();
        foreach (byte[] chunk in chunks)
        {
            int offset = 0;
            while (true)
            {
                WebSocketEvent e = reader.Read(chunk.AsSpan(offset), out int used);
                offset += used;
                if (e.Kind == WebSocketEventKind.NeedMoreData)
                {
                    Assert.Equal(chunk.Length, offset);
                    break;
                }

                Add(events, RecordedEvent.From(e));
                if (e.Kind == WebSocketEventKind.ProtocolViolation)
                {
                    return events;
                }
            }
        }

        return events;
    }

    public static IEnumerable<byte[]> Whole(byte[] data) => [data];

    public static IEnumerable<byte[]> ByteByByte(byte[] data) => data.Select(b => new[] { b });

    public static IEnumerable<byte[]> SplitAt(byte[] data, int position) => [data[..position], data[position..]];

    /// <summary>Every way of cutting: whole, byte by byte, and each two-piece split.</summary>
    public static IEnumerable<IEnumerable<byte[]>> AllCuts(byte[] data)
    {
        yield return Whole(data);
        yield return ByteByByte(data);
        for (int i = 0; i <= data.Length; i++)
        {
            yield return SplitAt(data, i);
        }
    }

    private static void Add(List<RecordedEvent> events, RecordedEvent e)
    {
        if (e.Kind == WebSocketEventKind.MessageData && events.Count > 0 && events[^1].Kind == WebSocketEventKind.MessageData)
        {
            events[^1] = events[^1] with { Payload = [.. events[^1].Payload, .. e.Payload] };
            return;
        }

        events.Add(e);
    }
}

/// <summary>Raw frames for reader tests.</summary>
internal static class Frames
{
    public static readonly byte[] Key = [0x37, 0xFA, 0x21, 0x3D];

    public static byte[] Masked(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool isFinal = true, bool isRsv1 = false) =>
        Build(opcode, payload, isFinal, isRsv1, Key);

    public static byte[] Unmasked(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool isFinal = true, bool isRsv1 = false) =>
        Build(opcode, payload, isFinal, isRsv1, default);

    public static byte[] Masked(WebSocketOpcode opcode, string text, bool isFinal = true) => Masked(opcode, Encoding.UTF8.GetBytes(text), isFinal);

    public static byte[] Close(ushort code, string reason = "") =>
        Masked(WebSocketOpcode.Close, [(byte)(code >> 8), (byte)code, .. Encoding.UTF8.GetBytes(reason)]);

    public static byte[] Concat(params byte[][] frames) => frames.SelectMany(f => f).ToArray();

    private static byte[] Build(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool isFinal, bool isRsv1, ReadOnlySpan<byte> key)
    {
        var frame = new byte[payload.Length + WebSocketFrameWriter.MaxHeaderLength];
        int length = WebSocketFrameWriter.WriteFrame(frame, opcode, payload, isFinal, isRsv1, key);
        return frame[..length];
    }
}

/// <summary>A client engine and a server engine joined by byte buffers: the fake network.</summary>
internal sealed class WebSocketTestPair : IDisposable
{
    public WebSocketTestPair(WebSocketOptions? options = null, PerMessageDeflateParameters? deflate = null)
    {
        Client = new WebSocketProtocol(WebSocketRole.Client, options, deflate);
        Server = new WebSocketProtocol(WebSocketRole.Server, options, deflate);
    }

    public WebSocketProtocol Client { get; }

    public WebSocketProtocol Server { get; }

    /// <summary>Bytes the client has written and the server not yet received.</summary>
    public ArrayBufferWriter<byte> ClientOutput { get; } = new();

    /// <summary>Bytes the server has written and the client not yet received.</summary>
    public ArrayBufferWriter<byte> ServerOutput { get; } = new();

    /// <summary>Delivers the client's bytes to the server in chunks of <paramref name="chunkSize"/>.</summary>
    public List<RecordedEvent> DeliverToServer(int chunkSize = int.MaxValue) => Deliver(ClientOutput, Server, ServerOutput, chunkSize);

    /// <summary>Delivers the server's bytes to the client in chunks of <paramref name="chunkSize"/>.</summary>
    public List<RecordedEvent> DeliverToClient(int chunkSize = int.MaxValue) => Deliver(ServerOutput, Client, ClientOutput, chunkSize);

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }

    private static List<RecordedEvent> Deliver(ArrayBufferWriter<byte> wire, WebSocketProtocol receiver, ArrayBufferWriter<byte> replies, int chunkSize)
    {
        byte[] bytes = wire.WrittenSpan.ToArray();
        wire.Clear();
        var events = new List<RecordedEvent>();
        for (int start = 0; start < bytes.Length; start += chunkSize)
        {
            ReadOnlySpan<byte> chunk = bytes.AsSpan(start, Math.Min(chunkSize, bytes.Length - start));
            while (true)
            {
                WebSocketEvent e = receiver.Receive(chunk, out int used, replies);
                chunk = chunk[used..];
                if (e.Kind == WebSocketEventKind.NeedMoreData)
                {
                    break;
                }

                events.Add(RecordedEvent.From(e));
            }
        }

        return events;
    }
}
