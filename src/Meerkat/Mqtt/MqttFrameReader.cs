// How this file works: splits a byte stream into MQTT control packets (MQTT 5.0 §2.1): a type
// and flags byte, the remaining length as a variable byte integer, then that many bytes. A packet
// wholly inside the input is returned as a slice of it (no copy); a packet cut by the end of the
// input is gathered in a pooled buffer across calls, so the reader accepts the stream split
// anywhere. The size limit is checked as soon as the remaining length is known, before anything
// is buffered.
//
// State machine:
//   Idle      between packets                               -> Header (input ended in the fixed header)
//                                                           -> Body (input ended in the body)
//   Header    gathering the fixed header (at most 5 bytes)  -> Body, or Idle (a packet with no body)
//   Body      gathering the body                            -> Idle once complete
using System.Buffers;

namespace Meerkat.Mqtt;

/// <summary>One control packet as framed: type, flags and body (everything after the remaining length).</summary>
/// <param name="Type">The control packet type.</param>
/// <param name="Flags">The low four bits of the first byte.</param>
/// <param name="Body">The variable header and payload; valid until the reader's next call.</param>
internal readonly record struct MqttFrame(MqttPacketType Type, byte Flags, ReadOnlyMemory<byte> Body)
{
    /// <summary>The packet's size on the wire.</summary>
    public int Size => 1 + VariableByteInteger.Size(Body.Length) + Body.Length;
}

/// <summary>Splits received bytes into MQTT packets; one per connection direction, on one thread.</summary>
internal sealed class MqttFrameReader : IDisposable
{
    private enum State { Idle, Header, Body }

    private FixedHeader header; // inline: no array object per connection
    private State state;
    private int headerLength;
    private byte[]? body;
    private int bodyLength;
    private int bodyFilled;
    private bool isBodyDelivered;

    /// <summary>The largest packet accepted, fixed header included (5.0 Maximum Packet Size). Default: the protocol's limit.</summary>
    public int MaximumPacketSize { get; set; } = VariableByteInteger.MaxValue + 5;

    /// <summary>True while part of a packet is buffered.</summary>
    public bool HasPartialPacket => state != State.Idle;

    /// <summary>Reads the next packet from <paramref name="input"/>.</summary>
    /// <param name="input">Received bytes.</param>
    /// <param name="consumed">How many bytes of <paramref name="input"/> were used.</param>
    /// <param name="frame">The packet, when the method returns true; its body lives until the next call.</param>
    /// <returns>True with a packet; false when more bytes are needed (all of the input was taken).</returns>
    /// <exception cref="MqttProtocolException">A reserved packet type or a malformed length (0x81), or a packet over the limit (0x95).</exception>
    public bool TryRead(ReadOnlyMemory<byte> input, out int consumed, out MqttFrame frame)
    {
        ReleaseDeliveredBody();
        consumed = 0;
        frame = default;
        var span = input.Span;
        if (state == State.Idle)
        {
            if (span.IsEmpty) return false;
            if (VariableByteInteger.TryRead(span[1..], out int remaining, out int lengthSize))
            {
                int headerSize = 1 + lengthSize;
                CheckHeader(span[0], remaining, headerSize);
                if (span.Length - headerSize >= remaining)
                {
                    consumed = headerSize + remaining;
                    frame = new MqttFrame((MqttPacketType)(span[0] >> 4), (byte)(span[0] & 0x0F), input.Slice(headerSize, remaining));
                    return true;
                }
            }
            state = State.Header;
            headerLength = 0;
        }
        if (state == State.Header && !GatherHeader(span, ref consumed)) return false;
        if (state == State.Body)
        {
            int take = Math.Min(bodyLength - bodyFilled, span.Length - consumed);
            span.Slice(consumed, take).CopyTo(body.AsSpan(bodyFilled));
            bodyFilled += take;
            consumed += take;
            if (bodyFilled < bodyLength) return false;
        }
        state = State.Idle;
        isBodyDelivered = true;
        frame = new MqttFrame((MqttPacketType)(header[0] >> 4), (byte)(header[0] & 0x0F), body is null ? ReadOnlyMemory<byte>.Empty : body.AsMemory(0, bodyLength));
        return true;
    }

    /// <summary>Takes header bytes one at a time until the remaining length is complete.</summary>
    private bool GatherHeader(ReadOnlySpan<byte> span, ref int consumed)
    {
        while (consumed < span.Length)
        {
            header[headerLength++] = span[consumed++];
            if (headerLength < 2) continue;
            if (!VariableByteInteger.TryRead(((ReadOnlySpan<byte>)header).Slice(1, headerLength - 1), out int remaining, out _))
            {
                if (headerLength == FixedHeader.Length) throw MqttProtocolException.Malformed("the remaining length is longer than four bytes");
                continue;
            }
            CheckHeader(header[0], remaining, headerLength);
            bodyLength = remaining;
            bodyFilled = 0;
            body = remaining == 0 ? null : ArrayPool<byte>.Shared.Rent(remaining);
            state = State.Body;
            return true;
        }
        return false;
    }

    private void CheckHeader(byte first, int remaining, int headerSize)
    {
        if (first >> 4 == 0) throw MqttProtocolException.Malformed("packet type 0 is reserved");
        if ((long)headerSize + remaining > MaximumPacketSize)
            throw new MqttProtocolException(MqttReasonCode.PacketTooLarge, $"a packet of {headerSize + remaining} bytes is over the limit of {MaximumPacketSize}");
    }

    private void ReleaseDeliveredBody()
    {
        if (!isBodyDelivered) return;
        isBodyDelivered = false;
        if (body is not null) ArrayPool<byte>.Shared.Return(body);
        body = null;
    }

    /// <summary>Returns the buffer of a partial packet to the pool.</summary>
    public void Dispose()
    {
        if (body is not null) ArrayPool<byte>.Shared.Return(body);
        body = null;
        state = State.Idle;
        isBodyDelivered = false;
    }
}

/// <summary>Room for a fixed header (type and flags, up to four bytes of remaining length), inside its owner.</summary>
[System.Runtime.CompilerServices.InlineArray(Length)]
internal struct FixedHeader
{
    public const int Length = 5;

    private byte first;
}
