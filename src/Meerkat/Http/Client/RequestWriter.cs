// How this file works: the sending side of a client connection, sans-I/O: request heads and
// bodies become bytes in an output buffer (RFC 9112 §3, §6, §7.1). A body is whole (sent with
// Content-Length right after the head, or held back for 100 Continue) or streamed piece by piece
// through the body writer of its framing (ContentLengthBodyWriter or ChunkedBodyWriter, shared with
// the server). One body at a time: while one is being sent or held, no other
// request may start (its head would land inside the body).
//
// States and their legal successors:
//   Idle             no body in progress      -> Idle (a request without a body, or a whole one),
//                                                AwaitingContinue (a whole body held for 100 Continue),
//                                                SendingBody (a streamed body's head), Finished (a request asking to close)
//   AwaitingContinue a whole body is held     -> Idle or Finished (100 arrived or the wait ran out: the body is
//                                                written), Finished (a final answer came first: the body is dropped)
//   SendingBody      a streamed body is going -> Idle or Finished (the body ended)
//   Finished         no further request on this connection: one asked Connection: close (RFC 9112 §9.6),
//                    or a held body was dropped, so the server and we disagree on the framing. Terminal.
using System.Buffers;
using System.Text;

namespace Meerkat.Http.Client;

/// <summary>Where the sending side of a client connection is.</summary>
internal enum RequestWriterState { Idle, AwaitingContinue, SendingBody, Finished }

/// <summary>Writes requests (loop thread; no I/O).</summary>
internal sealed class RequestWriter
{
    /// <summary><see cref="WriteHead"/>'s content length for a request without a body.</summary>
    public const long NoBody = -2;

    /// <summary><see cref="WriteHead"/>'s content length for a chunked body.</summary>
    public const long Chunked = -1;

    private readonly RequestHeadWriter headWriter = new();
    private readonly ContentLengthBodyWriter contentLength = new();
    private readonly ChunkedBodyWriter chunked = new();
    private ReadOnlyMemory<byte> held;
    private object? holder;
    private BodyWriter? body;
    // Where the body's end leads: Idle, or Finished when its request asked to close.
    private RequestWriterState afterBody;

    public RequestWriterState State { get; private set; }

    /// <summary>When a held body is sent anyway (manager ticks), or <see cref="long.MaxValue"/>.</summary>
    public long ContinueDeadline { get; private set; } = long.MaxValue;

    /// <summary>The request whose body is held for 100 Continue (the caller's token), else null.</summary>
    public object? Holder => holder;

    /// <summary>Writes a head. <paramref name="contentLength"/>: &gt;= 0 Content-Length, <see cref="Chunked"/>
    /// or <see cref="NoBody"/>. Nothing is written when the request is rejected (a bad method, target or
    /// field). Returns whether the request asks the server to close.</summary>
    /// <exception cref="ArgumentException">A field the client writes itself, or one a request must not carry.</exception>
    /// <param name="output">Where the head goes.</param>
    /// <param name="request">The request.</param>
    /// <param name="contentLength">As above.</param>
    /// <param name="trace">A client span whose trace context is written as <c>traceparent</c> (and
    /// <c>tracestate</c>, <c>baggage</c>) fields, unless the request carries a <c>traceparent</c> of its own.</param>
    public bool WriteHead(ArrayBufferWriter<byte> output, HttpClientRequest request, long contentLength, System.Diagnostics.Activity? trace = null)
    {
        int mark = output.WrittenCount;
        try
        {
            return WriteFields(output, request, contentLength, trace);
        }
        catch
        {
            Truncate(output, mark);
            throw;
        }
    }

    /// <summary>After a head with a whole body: writes it now (Content-Length framing).</summary>
    public void WriteWholeBody(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> content, bool closes)
    {
        output.Write(content);
        State = closes ? RequestWriterState.Finished : RequestWriterState.Idle;
    }

    /// <summary>After a head with a whole body and <c>Expect: 100-continue</c>: holds the body until
    /// <see cref="Release"/> (100 Continue, or <paramref name="deadline"/>) or <see cref="Drop"/>.</summary>
    public void Hold(ReadOnlyMemory<byte> content, object requestToken, long deadline, bool closes)
    {
        held = content;
        holder = requestToken;
        ContinueDeadline = deadline;
        afterBody = closes ? RequestWriterState.Finished : RequestWriterState.Idle;
        State = RequestWriterState.AwaitingContinue;
    }

    /// <summary>Writes the held body (100 Continue arrived, or the wait ran out).</summary>
    public void Release(ArrayBufferWriter<byte> output)
    {
        if (State != RequestWriterState.AwaitingContinue) return;
        output.Write(held.Span);
        EndHold(afterBody);
    }

    /// <summary>A final response came before 100 Continue: the body is never sent, and the connection
    /// cannot carry another request (the server may still expect the body).</summary>
    public void Drop() => EndHold(RequestWriterState.Finished);

    /// <summary>After a head with a streamed body: pieces follow through <see cref="WriteBodyPiece"/>.</summary>
    public void StartBody(long length, bool closes)
    {
        if (length == Chunked)
        {
            chunked.Start();
            body = chunked;
        }
        else
        {
            contentLength.Start(length);
            body = contentLength;
        }
        afterBody = closes ? RequestWriterState.Finished : RequestWriterState.Idle;
        State = RequestWriterState.SendingBody;
    }

    /// <exception cref="InvalidOperationException">No streamed body is in progress, or the piece runs past the Content-Length.</exception>
    public void WriteBodyPiece(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (State != RequestWriterState.SendingBody) throw new InvalidOperationException("SendRequestBody needs a request started with SendRequestHead and not yet ended");
        body!.Write(output, data);
    }

    /// <exception cref="InvalidOperationException">No streamed body is in progress, or it is shorter than its Content-Length.</exception>
    public void EndBody(ArrayBufferWriter<byte> output, IEnumerable<KeyValuePair<string, string>>? trailers)
    {
        if (State != RequestWriterState.SendingBody) throw new InvalidOperationException("EndRequestBody needs a request started with SendRequestHead and not yet ended");
        // Trailers travel only with a chunked body; a Content-Length body ignores them, as it always did.
        (string, string)[] fields = body == chunked && trailers is not null ? [.. trailers.Select(t => (t.Key, t.Value))] : [];
        body!.Finish(output, fields);
        State = afterBody;
    }

    /// <summary>The connection is gone: nothing more is written.</summary>
    public void Finish() => EndHold(RequestWriterState.Finished);

    private void EndHold(RequestWriterState next)
    {
        held = default;
        holder = null;
        ContinueDeadline = long.MaxValue;
        State = next;
    }

    /// <summary>Writes the head; true when it asks the server to close.</summary>
    private bool WriteFields(ArrayBufferWriter<byte> output, HttpClientRequest request, long contentLength, System.Diagnostics.Activity? trace)
    {
        var uri = request.Uri;
        string target = uri.PathAndQuery.Length == 0 ? "/" : uri.PathAndQuery; // RFC 9112 §3.2.1: an empty path is sent as "/"
        // An IPv6 literal keeps its brackets in Host (RFC 3986 §3.2.2); IdnHost drops them.
        string host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        // Encoded on the stack (short fields) rather than into arrays per request.
        Span<byte> method = request.Method.Length <= 32 ? stackalloc byte[32] : new byte[request.Method.Length];
        method = method[..Encoding.ASCII.GetBytes(request.Method, method)];
        Span<byte> path = target.Length <= 512 ? stackalloc byte[512] : new byte[target.Length];
        path = path[..Encoding.ASCII.GetBytes(target, path)];
        headWriter.WriteRequestLine(output, method, path);
        // RFC 9110 §7.2: Host first, the URI's authority without userinfo.
        Span<byte> authority = host.Length <= 240 ? stackalloc byte[256] : new byte[host.Length + 16];
        int length = Encoding.ASCII.GetBytes(host, authority);
        if (!uri.IsDefaultPort)
        {
            authority[length++] = (byte)':';
            uri.Port.TryFormat(authority[length..], out int digits, provider: System.Globalization.CultureInfo.InvariantCulture);
            length += digits;
        }
        headWriter.WriteHeader(output, "Host"u8, authority[..length]);
        bool close = false;
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"the client writes the {name} field itself; remove it from the request headers", nameof(request));
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("close", StringComparison.OrdinalIgnoreCase)) close = true;
            HeadWriting.WriteField(output, name, value);
        }
        if (trace is not null && request.GetHeader("traceparent") is null) Diagnostics.TraceContext.Inject(trace, output);
        if (contentLength >= 0) HeadWriting.WriteContentLength(output, contentLength);
        else if (contentLength == Chunked) HeadWriting.Write(output, HeadWriting.ChunkedLine);
        headWriter.WriteEnd(output);
        return close;
    }

    /// <summary>Drops what was written after <paramref name="mark"/> (a head that failed half-way).</summary>
    private static void Truncate(ArrayBufferWriter<byte> output, int mark)
    {
        byte[] kept = output.WrittenSpan[..mark].ToArray();
        output.ResetWrittenCount();
        output.Write(kept);
    }
}
