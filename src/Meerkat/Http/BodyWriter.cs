// How this file works: the sending side of body framing (RFC 9112 §6), one small type per
// framing: Content-Length (exactly N bytes), chunked (§7.1, with optional trailer fields) and
// until-close (HTTP/1.0 responses without a length). A writer is reused for every message of a
// connection: Start it, Write pieces, Finish once. Server responses and client requests share them.
//
// States and their legal successors:
//   Idle     -> Writing (Start)
//   Writing  -> Writing (Write), Finished (Finish)
//   Finished -> Writing (Start, for the next message)
using System.Buffers;

namespace Meerkat.Http;

/// <summary>Writes a message body in one framing. Not thread-safe; allocation-free.</summary>
internal abstract class BodyWriter
{
    private enum State { Idle, Writing, Finished }

    private State state;

    /// <summary>The framing this writer produces.</summary>
    public abstract HttpFraming Framing { get; }

    /// <summary>True between <see cref="Finish(IBufferWriter{byte}, ReadOnlySpan{ValueTuple{string, string}})"/> and the next start.</summary>
    public bool IsFinished => state == State.Finished;

    /// <summary>Appends a piece of the body in this framing.</summary>
    /// <exception cref="InvalidOperationException">The body is finished, or the piece does not fit the framing.</exception>
    public void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (state != State.Writing) throw new InvalidOperationException("the body is finished: no more bytes can be written");
        if (!data.IsEmpty) WriteData(output, data);
    }

    /// <summary>Ends the body, with no trailer fields.</summary>
    public void Finish(IBufferWriter<byte> output) => Finish(output, []);

    /// <summary>Ends the body; <paramref name="trailers"/> are sent after it (chunked framing only).</summary>
    /// <exception cref="InvalidOperationException">The body is short of its length, or trailers were given to a framing that cannot carry them.</exception>
    public void Finish(IBufferWriter<byte> output, ReadOnlySpan<(string Name, string Value)> trailers)
    {
        if (state != State.Writing) throw new InvalidOperationException("the body is already finished");
        if (!trailers.IsEmpty && Framing != HttpFraming.Chunked)
            throw new InvalidOperationException($"trailer fields need chunked framing; this body is {Describe(Framing)}");
        WriteEnd(output, trailers);
        state = State.Finished;
    }

    /// <summary>Begins a body.</summary>
    protected void Begin() => state = State.Writing;

    protected abstract void WriteData(IBufferWriter<byte> output, ReadOnlySpan<byte> data);

    protected abstract void WriteEnd(IBufferWriter<byte> output, ReadOnlySpan<(string Name, string Value)> trailers);

    private static string Describe(HttpFraming framing) => framing switch
    {
        HttpFraming.ContentLength => "delimited by Content-Length",
        HttpFraming.UntilClose => "delimited by closing the connection (an HTTP/1.0 peer)",
        _ => "empty",
    };
}
