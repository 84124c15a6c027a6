// How this file works: writes the data types of MQTT 5.0 §1.5 into a span that the encoder has
// already sized exactly (it measures a packet before writing it), so nothing here checks room.
using System.Buffers.Binary;
using System.Text;

namespace Meerkat.Mqtt;

internal ref struct MqttWriter
{
    private readonly Span<byte> span;
    private int position;

    public MqttWriter(Span<byte> span)
    {
        this.span = span;
        position = 0;
    }

    public readonly int Position => position;

    public void WriteByte(byte value) => span[position++] = value;

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(span[position..], value);
        position += 2;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(span[position..], value);
        position += 4;
    }

    public void WriteVariableByteInteger(int value) => position += VariableByteInteger.Write(span[position..], value);

    public void WriteString(string value)
    {
        int length = Encoding.UTF8.GetBytes(value, span[(position + 2)..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[position..], (ushort)length);
        position += 2 + length;
    }

    public void WriteBinary(ReadOnlySpan<byte> value)
    {
        WriteUInt16((ushort)value.Length);
        WriteBytes(value);
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(span[position..]);
        position += value.Length;
    }

    /// <summary>Size of a UTF-8 Encoded String with its length prefix.</summary>
    public static int StringSize(string value) => 2 + Encoding.UTF8.GetByteCount(value);
}
