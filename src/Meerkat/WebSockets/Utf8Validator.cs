// How this file works: incremental UTF-8 validation for text messages whose code points may
// straddle frames or reads (RFC 6455 §5.6, §8.1). Each piece is split into: the bytes that
// complete a code point left pending by the previous piece, a bulk checked with the vectorized
// Utf8.IsValid, and a tail (the last, possibly incomplete, code point) decoded with
// Rune.DecodeFromUtf8, which reports NeedMoreData only for a valid prefix. So an invalid byte is
// reported in the piece that carries it ("fail fast"), and a message that ends inside a code
// point is reported by Complete.
using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Meerkat.WebSockets;

/// <summary>Validates UTF-8 given in pieces; allocation-free.</summary>
internal struct Utf8Validator
{
    private const int MaxSequenceLength = 4;
    private const byte ContinuationMask = 0b1100_0000;
    private const byte ContinuationBits = 0b1000_0000;

    private uint _pending;      // up to 3 octets of an incomplete code point, first octet lowest
    private int _pendingLength;

    /// <summary>Checks the next piece; false at the first invalid octet.</summary>
    public bool Append(ReadOnlySpan<byte> piece)
    {
        if (_pendingLength > 0 && !CompletePending(ref piece))
        {
            return false;
        }

        if (piece.IsEmpty)
        {
            return true;
        }

        int tailStart = LastCodePointStart(piece);
        if (!Utf8.IsValid(piece[..tailStart]))
        {
            return false;
        }

        ReadOnlySpan<byte> tail = piece[tailStart..];
        OperationStatus status = Rune.DecodeFromUtf8(tail, out _, out int consumed);
        if (status == OperationStatus.NeedMoreData)
        {
            foreach (byte b in tail)
            {
                Push(b);
            }

            return true;
        }

        return status == OperationStatus.Done && consumed == tail.Length;
    }

    /// <summary>True when the text seen so far ends on a code point boundary; then resets.</summary>
    public bool Complete()
    {
        bool isComplete = _pendingLength == 0;
        Reset();
        return isComplete;
    }

    /// <summary>Forgets any pending octets.</summary>
    public void Reset()
    {
        _pending = 0;
        _pendingLength = 0;
    }

    private bool CompletePending(ref ReadOnlySpan<byte> piece)
    {
        Span<byte> sequence = stackalloc byte[MaxSequenceLength];
        while (!piece.IsEmpty)
        {
            Push(piece[0]);
            piece = piece[1..];
            for (int i = 0; i < _pendingLength; i++)
            {
                sequence[i] = (byte)(_pending >> (8 * i));
            }

            OperationStatus status = Rune.DecodeFromUtf8(sequence[.._pendingLength], out _, out int consumed);
            if (status == OperationStatus.InvalidData || (status == OperationStatus.Done && consumed != _pendingLength))
            {
                return false;
            }

            if (status == OperationStatus.Done)
            {
                Reset();
                return true;
            }
        }

        return true;
    }

    private void Push(byte b)
    {
        _pending |= (uint)b << (8 * _pendingLength);
        _pendingLength++;
    }

    /// <summary>Index of the first octet of the last code point (at most 3 octets back).</summary>
    private static int LastCodePointStart(ReadOnlySpan<byte> piece)
    {
        int i = piece.Length - 1;
        for (int steps = 0; i > 0 && steps < MaxSequenceLength - 1 && IsContinuation(piece[i]); steps++)
        {
            i--;
        }

        return i;
    }

    private static bool IsContinuation(byte b) => (b & ContinuationMask) == ContinuationBits;
}
