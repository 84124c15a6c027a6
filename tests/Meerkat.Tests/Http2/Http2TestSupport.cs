using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Meerkat.Http;
using Meerkat.Http2;

namespace Meerkat.Tests.Http2;

/// <summary>
/// Frames built by hand, independently of the writer and encoder under test, so that a test's
/// input cannot share a bug with the code it tests. Field blocks use only HPACK literals without
/// indexing and with new names (RFC 7541 §6.2.2), which any decoder must accept.
/// </summary>
internal static class Raw
{
    public const byte Data = 0, Headers = 1, Priority = 2, RstStream = 3, Settings = 4, PushPromise = 5, Ping = 6, GoAway = 7, WindowUpdate = 8, Continuation = 9;
    public const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;

    public static byte[] ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public static byte[] Frame(byte type, byte flags, int streamId, params byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>A frame header announcing <paramref name="length"/> octets, without the payload.</summary>
    public static byte[] FrameHeader(int length, byte type, byte flags, int streamId)
    {
        byte[] frame = Frame(type, flags, streamId);
        frame[0] = (byte)(length >> 16);
        frame[1] = (byte)(length >> 8);
        frame[2] = (byte)length;
        return frame;
    }

    public static byte[] SettingsFrame(params (int Id, uint Value)[] settings)
    {
        var payload = new byte[settings.Length * 6];
        for (int i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), (ushort)settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(i * 6 + 2), settings[i].Value);
        }

        return Frame(Settings, 0, 0, payload);
    }

    public static byte[] SettingsAck => Frame(Settings, Ack, 0);

    public static byte[] HeadersFrame(int streamId, byte flags, byte[] block) => Frame(Headers, flags, streamId, block);

    public static byte[] DataFrame(int streamId, byte flags, byte[] data) => Frame(Data, flags, streamId, data);

    public static byte[] DataFrame(int streamId, byte flags, string text) => Frame(Data, flags, streamId, Encoding.ASCII.GetBytes(text));

    public static byte[] WindowUpdateFrame(int streamId, uint increment) => Frame(WindowUpdate, 0, streamId, U32(increment));

    public static byte[] RstStreamFrame(int streamId, uint code) => Frame(RstStream, 0, streamId, U32(code));

    public static byte[] PingFrame(byte flags, ulong data)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(payload, data);
        return Frame(Ping, flags, 0, payload);
    }

    public static byte[] GoAwayFrame(int lastStreamId, uint code) => Frame(GoAway, 0, 0, [.. U32((uint)lastStreamId), .. U32(code)]);

    public static byte[] PriorityFrame(int streamId, int dependsOn, byte weight) => Frame(Priority, 0, streamId, [.. U32((uint)dependsOn), weight]);

    /// <summary>A field block of literals without indexing, new names, raw strings.</summary>
    public static byte[] Block(params (string Name, string Value)[] fields)
    {
        var block = new List<byte>();
        foreach ((string name, string value) in fields)
        {
            block.Add(0x00);
            String(block, Encoding.Latin1.GetBytes(name));
            String(block, Encoding.Latin1.GetBytes(value));
        }

        return [.. block];
    }

    /// <summary>A GET request block with the usual pseudo-header fields and any extra fields.</summary>
    public static byte[] Request(string method = "GET", string path = "/", params (string Name, string Value)[] extra) =>
        Block([(":method", method), (":scheme", "https"), (":authority", "example.com"), (":path", path), .. extra]);

    public static byte[] Response(int status, params (string Name, string Value)[] extra) => Block([(":status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. extra]);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private static void String(List<byte> block, byte[] text)
    {
        // 7-bit prefix integer (RFC 7541 §5.1), no Huffman.
        if (text.Length < 127)
        {
            block.Add((byte)text.Length);
        }
        else
        {
            block.Add(127);
            int rest = text.Length - 127;
            while (rest >= 128)
            {
                block.Add((byte)(rest % 128 + 128));
                rest /= 128;
            }

            block.Add((byte)rest);
        }

        block.AddRange(text);
    }
}

/// <summary>A frame the core wrote, parsed back for assertions.</summary>
internal sealed record SentFrame(byte Type, byte Flags, int StreamId, byte[] Payload)
{
    public uint Code => Type is Raw.RstStream ? BinaryPrimitives.ReadUInt32BigEndian(Payload) : Type is Raw.GoAway ? BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4)) : 0;

    public int LastStreamId => BinaryPrimitives.ReadInt32BigEndian(Payload) & 0x7fff_ffff;

    public int Increment => BinaryPrimitives.ReadInt32BigEndian(Payload) & 0x7fff_ffff;

    public string Describe() => Type switch
    {
        Raw.GoAway => "GOAWAY " + Http2ErrorNames.Of((Http2ErrorCode)Code),
        Raw.RstStream => $"RST_STREAM({StreamId}) " + Http2ErrorNames.Of((Http2ErrorCode)Code),
        _ => $"frame {Type} flags {Flags} stream {StreamId}",
    };

    public static List<SentFrame> Parse(ReadOnlySpan<byte> bytes)
    {
        var frames = new List<SentFrame>();
        while (bytes.Length >= 9)
        {
            int length = bytes[0] << 16 | bytes[1] << 8 | bytes[2];
            frames.Add(new SentFrame(bytes[3], bytes[4], BinaryPrimitives.ReadInt32BigEndian(bytes[5..]) & 0x7fff_ffff, bytes.Slice(9, length).ToArray()));
            bytes = bytes[(9 + length)..];
        }

        Assert.Equal(0, bytes.Length);
        return frames;
    }
}

/// <summary>An event copied out of an <see cref="Http2Event"/>, so tests can keep it.</summary>
internal sealed record Recorded(Http2EventKind Kind, int StreamId, bool IsEndStream, byte[] Data, string? Head, Http2ErrorCode ErrorCode, HttpOutcome Outcome, bool IsRefused, int LastStreamId, ulong PingData, object? UserState)
{
    /// <summary>The regular fields of a Headers or Trailers event, in order.</summary>
    public List<(string Name, string Value)> Fields { get; init; } = [];

    public static Recorded From(in Http2Event e) =>
        new(e.Kind, e.StreamId, e.IsEndStream, e.Data.ToArray(), e.Section is null ? null : Describe(e.Section), e.ErrorCode, e.Outcome, e.IsRefused, e.LastStreamId, e.PingData, e.UserState)
        {
            Fields = e.Section is null ? [] : FieldsOf(e.Section.Fields),
        };

    private static List<(string, string)> FieldsOf(HttpHeaders fields) => Enumerable.Range(0, fields.Count).Select(i => (fields.GetNameString(i), fields.GetValueString(i))).ToList();

    public string Text => Encoding.ASCII.GetString(Data);

    /// <summary>"GET https://example.com/ [a: b]" for requests, "200 [a: b]" for responses, "[a: b]" for trailers.</summary>
    public static string Describe(Http2HeaderSection section)
    {
        var text = new StringBuilder();
        if (!section.Method.IsEmpty) text.Append(Encoding.ASCII.GetString(section.Method)).Append(' ').Append(Encoding.ASCII.GetString(section.Scheme)).Append("://").Append(Encoding.ASCII.GetString(section.Authority)).Append(Encoding.ASCII.GetString(section.Path)).Append(' ');
        if (section.Status != 0) text.Append(section.Status).Append(' ');
        text.Append('[').Append(string.Join(", ", Enumerable.Range(0, section.Fields.Count).Select(i => section.Fields.GetNameString(i) + ": " + section.Fields.GetValueString(i)))).Append(']');
        return text.ToString();
    }

    public override string ToString() => $"{Kind} {StreamId}{(IsEndStream ? " end" : "")} {Head} {(Data.Length > 0 ? Text : "")} {ErrorCode} {Outcome}".TrimEnd();
}

/// <summary>One endpoint under test with a clock and an output buffer, driven byte by byte or whole.</summary>
internal sealed class Endpoint
{
    private readonly ArrayBufferWriter<byte> _output = new();
    private byte[] _pending = [];

    public Endpoint(bool isServer, Http2Options? options = null, long now = 1_000_000)
    {
        Now = now;
        Connection = new Http2Connection(isServer, _output, now, options);
    }

    public Http2Connection Connection { get; }

    public long Now { get; set; }

    public List<Recorded> Events { get; } = [];

    /// <summary>Bytes written since the last <see cref="TakeOutput"/>.</summary>
    public byte[] TakeOutput()
    {
        byte[] bytes = _output.WrittenSpan.ToArray();
        _output.ResetWrittenCount();
        return bytes;
    }

    public List<SentFrame> TakeFrames() => SentFrame.Parse(TakeOutput());

    /// <summary>Feeds bytes (kept with any partial frame from before) and records every event; returns the new ones.</summary>
    public List<Recorded> Feed(byte[] bytes)
    {
        int before = Events.Count;
        _pending = [.. _pending, .. bytes];
        int offset = 0;
        while (true)
        {
            Http2Event e = Connection.Receive(_pending.AsSpan(offset), Now, out int used);
            offset += used;
            if (e.Kind == Http2EventKind.NeedMoreData) break;
            Events.Add(Recorded.From(e));
        }

        _pending = _pending[offset..];
        return Events.GetRange(before, Events.Count - before);
    }

    /// <summary>Collects events decided outside Receive (sends, Tick, Abort).</summary>
    public List<Recorded> Drain() => Feed([]);

    public void Advance(TimeSpan time)
    {
        Now += (long)(time.TotalSeconds * Stopwatch.Frequency);
        Connection.Tick(Now);
    }
}

/// <summary>A server endpoint past the handshake with a raw client (the test plays the client byte by byte).</summary>
internal static class Handshake
{
    /// <summary>A server that has read the preface and SETTINGS, and whose SETTINGS the client acknowledged.</summary>
    public static Endpoint Server(Http2Options? options = null, params (int Id, uint Value)[] clientSettings)
    {
        var server = new Endpoint(isServer: true, options);
        List<Recorded> events = server.Feed(Raw.Concat(Raw.ClientPreface, Raw.SettingsFrame(clientSettings), Raw.SettingsAck));
        Assert.Equal([Http2EventKind.Settings, Http2EventKind.SettingsAcknowledged], events.Select(e => e.Kind));
        server.TakeOutput();
        server.Events.Clear();
        return server;
    }

    /// <summary>A client that has read the server's SETTINGS and had its own acknowledged.</summary>
    public static Endpoint Client(Http2Options? options = null, params (int Id, uint Value)[] serverSettings)
    {
        var client = new Endpoint(isServer: false, options);
        List<Recorded> events = client.Feed(Raw.Concat(Raw.SettingsFrame(serverSettings), Raw.SettingsAck));
        Assert.Equal([Http2EventKind.Settings, Http2EventKind.SettingsAcknowledged], events.Select(e => e.Kind));
        client.TakeOutput();
        client.Events.Clear();
        return client;
    }
}
