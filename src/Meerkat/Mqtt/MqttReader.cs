// How this file works: a cursor over one packet's bytes (after the fixed header), reading the
// data types of MQTT 5.0 §1.5. Running past the end is a malformed packet (§4.13), thrown as
// MqttProtocolException so that decoders read straight down the packet layout.
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Meerkat.Mqtt;

internal ref struct MqttReader
{
    private readonly ReadOnlyMemory<byte> memory;
    private int position;

    public MqttReader(ReadOnlyMemory<byte> memory)
    {
        this.memory = memory;
        position = 0;
    }

    public readonly int Remaining => memory.Length - position;

    public readonly bool IsAtEnd => position == memory.Length;

    public byte ReadByte()
    {
        Need(1, "a byte");
        return memory.Span[position++];
    }

    public ushort ReadUInt16()
    {
        Need(2, "a two byte integer");
        ushort value = BinaryPrimitives.ReadUInt16BigEndian(memory.Span[position..]);
        position += 2;
        return value;
    }

    public uint ReadUInt32()
    {
        Need(4, "a four byte integer");
        uint value = BinaryPrimitives.ReadUInt32BigEndian(memory.Span[position..]);
        position += 4;
        return value;
    }

    public int ReadVariableByteInteger()
    {
        if (!VariableByteInteger.TryRead(memory.Span[position..], out int value, out int length))
            throw MqttProtocolException.Malformed("the packet ends inside a variable byte integer");
        position += length;
        return value;
    }

    /// <summary>A UTF-8 Encoded String (§1.5.4): well-formed, without U+0000.</summary>
    public string ReadString(string what)
    {
        var bytes = ReadStringBytes(what);
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes.Span);
    }

    /// <summary>A UTF-8 Encoded String's bytes, validated, without decoding.</summary>
    public ReadOnlyMemory<byte> ReadStringBytes(string what)
    {
        var bytes = ReadBinary(what);
        var span = bytes.Span;
        if (!Utf8.IsValid(span)) throw MqttProtocolException.Malformed($"{what} is not well-formed UTF-8");
        if (span.Contains((byte)0)) throw MqttProtocolException.Malformed($"{what} contains U+0000");
        return bytes;
    }

    /// <summary>Binary Data (§1.5.6): a two byte length, then that many bytes.</summary>
    public ReadOnlyMemory<byte> ReadBinary(string what)
    {
        Need(2, what);
        int length = BinaryPrimitives.ReadUInt16BigEndian(memory.Span[position..]);
        position += 2;
        Need(length, what);
        var bytes = memory.Slice(position, length);
        position += length;
        return bytes;
    }

    public ReadOnlyMemory<byte> ReadRest()
    {
        var rest = memory[position..];
        position = memory.Length;
        return rest;
    }

    public ReadOnlyMemory<byte> ReadBytes(int count)
    {
        Need(count, "the property block");
        var bytes = memory.Slice(position, count);
        position += count;
        return bytes;
    }

    private readonly void Need(int count, string what)
    {
        if (count > memory.Length - position) throw MqttProtocolException.Malformed($"the packet ends inside {what}");
    }
}
