namespace Meerkat.Mqtt;

/// <summary>
/// The Variable Byte Integer (MQTT 5.0 §1.5.5): 7 bits per byte, least significant first, the top
/// bit saying another byte follows; at most four bytes, so at most 268,435,455.
/// </summary>
internal static class VariableByteInteger
{
    /// <summary>The largest value four bytes can carry.</summary>
    public const int MaxValue = 268_435_455;

    /// <summary>Bytes needed to encode <paramref name="value"/> (1 to 4).</summary>
    public static int Size(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;

    /// <summary>Writes <paramref name="value"/> and returns the bytes written.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above <see cref="MaxValue"/>.</exception>
    public static int Write(Span<byte> destination, int value)
    {
        if ((uint)value > MaxValue) throw new ArgumentOutOfRangeException(nameof(value), $"{value} does not fit a variable byte integer (0-{MaxValue})");
        int i = 0;
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            if (value > 0) b |= 0x80;
            destination[i++] = b;
        }
        while (value > 0);
        return i;
    }

    /// <summary>Reads a value from the start of <paramref name="source"/>.</summary>
    /// <returns>True with the value and its length; false when <paramref name="source"/> ends first.</returns>
    /// <exception cref="MqttProtocolException">A fifth byte would be needed (malformed).</exception>
    public static bool TryRead(ReadOnlySpan<byte> source, out int value, out int length)
    {
        value = 0;
        for (int i = 0; i < 4; i++)
        {
            if (i >= source.Length)
            {
                length = 0;
                return false;
            }
            byte b = source[i];
            value |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                length = i + 1;
                return true;
            }
        }
        throw MqttProtocolException.Malformed("a variable byte integer is longer than four bytes");
    }
}
