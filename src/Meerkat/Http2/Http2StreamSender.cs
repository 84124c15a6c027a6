// How this file works: what the application sends on streams, for Http2Connection. Header
// sections are checked first (a mistake throws before anything is encoded, so the HPACK
// encoder never gets ahead of the peer's decoder), then encoded and framed as HEADERS plus
// CONTINUATION within the peer's SETTINGS_MAX_FRAME_SIZE (and 16 KiB). DATA goes out only within the
// flow-control windows: TrySendData takes what fits and says how much; the rest waits for a
// StreamWritable event. Outbound message phases (Http2Stream.cs):
//   Headers   -> a 1xx section (server; stays), the final section (-> Content, or Complete with END_STREAM)
//   Content   -> DATA; trailers or DATA with END_STREAM (-> Complete)
//   Complete  -> nothing more
// A server whose response completes while the request is still arriving stops the upload with
// RST_STREAM(NO_ERROR) (§8.1), so every server stream closes when its response is done.
using System.Buffers;
using Meerkat.Http;

namespace Meerkat.Http2;

/// <summary>Sends on the streams of one connection.</summary>
internal sealed class Http2StreamSender(Http2Connection connection)
{
    /// <summary>
    /// The largest frame we send, whatever larger SETTINGS_MAX_FRAME_SIZE the peer allows: bigger
    /// frames save nothing worth having and cost contiguous output buffers and coarser interleaving
    /// of streams.
    /// </summary>
    private const int MaxSendFrameSize = 16_384;

    private readonly ArrayBufferWriter<byte> _block = new(1024);
    private readonly Http2HeaderList _bare = new();

    /// <summary>
    /// Client: opens the next stream with a request header section (§8.3.1), ending it at once
    /// with <paramref name="endStream"/> (a request without content). Returns the stream
    /// identifier; the stream gets a StreamClosed event when it ends.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is a server, or <see cref="Http2Connection.CanOpenStream"/> is false.</exception>
    /// <exception cref="ArgumentException">The request's pseudo-header fields are incomplete.</exception>
    public int OpenStream(Http2HeaderList request, bool endStream)
    {
        if (connection.IsServer) throw new InvalidOperationException("only a client opens streams");
        if (!connection.CanOpenStream) throw new InvalidOperationException("no stream can be opened now: the connection is going away, at the peer's concurrency limit, or out of identifiers");
        request.CheckRequest();
        Http2Stream stream = connection.Streams.AddLocalStream(connection.RemoteSettings.InitialWindowSize, connection.LocalAcknowledged.InitialWindowSize);
        stream.IsAnnounced = true;
        stream.IsHeadRequest = request.TryGetPseudo(":method"u8, out ReadOnlySpan<byte> method) && method.SequenceEqual("HEAD"u8);
        stream.Apply(Http2StreamInput.SendHeaders);
        stream.Outbound = endStream ? Http2MessagePhase.Complete : Http2MessagePhase.Content;
        WriteFieldBlock(stream.Id, request, endStream);
        if (endStream) EndLocal(stream);
        return stream.Id;
    }

    /// <summary>
    /// Sends a header section on an open stream: a server's response (informational 1xx ones
    /// first if any, then the final one), or trailers (which must end the stream). Returns false
    /// when the stream is no longer open (reset by the peer, say): its StreamClosed event tells.
    /// </summary>
    /// <exception cref="ArgumentException">The section does not fit where it is sent.</exception>
    /// <exception cref="InvalidOperationException">The stream's message is complete, or a section after the final one does not end the stream.</exception>
    public bool SendHeaders(int streamId, Http2HeaderList fields, bool endStream)
    {
        if (!connection.Streams.TryGet(streamId, out Http2Stream stream) || !Http2StreamStates.CanSend(stream.State)) return false;
        switch (stream.Outbound)
        {
            case Http2MessagePhase.Headers:
                if (!connection.IsServer) throw new InvalidOperationException("a client's request headers are sent by OpenStream");
                bool isInformational = fields.CheckResponse() < 200;
                if (isInformational && endStream) throw new ArgumentException("an informational (1xx) response cannot end the stream");
                if (!isInformational) stream.Outbound = endStream ? Http2MessagePhase.Complete : Http2MessagePhase.Content;
                break;
            case Http2MessagePhase.Content:
                if (!endStream) throw new InvalidOperationException("after the header section only trailers may follow, and they end the stream");
                fields.CheckTrailers();
                stream.Outbound = Http2MessagePhase.Complete;
                break;
            default:
                throw new InvalidOperationException($"stream {streamId} has already sent its whole message");
        }

        stream.Apply(Http2StreamInput.SendHeaders);
        WriteFieldBlock(streamId, fields, endStream);
        if (endStream) EndLocal(stream);
        return true;
    }

    /// <summary>
    /// Sends as much of <paramref name="data"/> as the flow-control windows allow, in DATA frames
    /// within the peer's SETTINGS_MAX_FRAME_SIZE; <paramref name="written"/> says how much. END_STREAM
    /// goes with the last octet, only once all of <paramref name="data"/> is sent. When less was
    /// taken, a StreamWritable event follows once the peer gives window. Returns false when the
    /// stream is no longer open.
    /// </summary>
    /// <exception cref="InvalidOperationException">The header section was not sent yet, or the message is complete.</exception>
    public bool TrySendData(int streamId, ReadOnlySpan<byte> data, bool endStream, out int written)
    {
        written = 0;
        if (!connection.Streams.TryGet(streamId, out Http2Stream stream) || !Http2StreamStates.CanSend(stream.State)) return false;
        if (stream.Outbound != Http2MessagePhase.Content) throw new InvalidOperationException($"stream {streamId} cannot send DATA {(stream.Outbound == Http2MessagePhase.Headers ? "before its header section" : "after its message completed")}");
        written = Math.Min(data.Length, connection.Flow.SendBudget(stream));
        bool isLast = endStream && written == data.Length;
        int frameSize = SendFrameSize;
        int at = 0;
        do
        {
            int length = Math.Min(frameSize, written - at);
            if (length > 0 || isLast) Http2FrameWriter.WriteData(connection.Output, streamId, data.Slice(at, length), isLast && at + length == written);
            at += length;
        }
        while (at < written);

        connection.Flow.Sent(stream, written);
        stream.BlockedSince = written < data.Length ? (stream.IsBlocked ? stream.BlockedSince : connection.Now) : -1;
        if (isLast)
        {
            stream.Outbound = Http2MessagePhase.Complete;
            EndLocal(stream);
        }

        return true;
    }

    private int SendFrameSize => Math.Min(connection.RemoteSettings.MaxFrameSize, MaxSendFrameSize);

    /// <summary>A response with no content and no stream object (the 431 for an oversized request).</summary>
    public void SendBareResponse(int streamId, int status)
    {
        _bare.Clear();
        _bare.AddStatus(status);
        WriteFieldBlock(streamId, _bare, endStream: true);
    }

    /// <summary>We sent END_STREAM: the stream closes if the peer's side is done, or (server) we stop the upload.</summary>
    private void EndLocal(Http2Stream stream)
    {
        stream.Apply(Http2StreamInput.SendEndStream);
        if (stream.State == Http2StreamState.HalfClosedLocal && connection.IsServer)
        {
            Http2FrameWriter.WriteRstStream(connection.Output, stream.Id, Http2ErrorCode.NoError);
            connection.CloseStream(stream, HttpOutcome.Completed, isResetByUs: true);
        }
        else if (stream.State == Http2StreamState.Closed)
        {
            connection.CloseStream(stream, HttpOutcome.Completed);
        }
    }

    /// <summary>Encodes a section and frames it as HEADERS and as many CONTINUATION as the peer's frame size needs.</summary>
    private void WriteFieldBlock(int streamId, Http2HeaderList fields, bool endStream)
    {
        _block.ResetWrittenCount();
        connection.Encoder.BeginBlock(_block);
        for (int i = 0; i < fields.Count; i++) connection.Encoder.Encode(fields.GetName(i), fields.GetValue(i), fields.IsSensitive(i), _block);
        ReadOnlySpan<byte> block = _block.WrittenSpan;
        int frameSize = SendFrameSize;
        int first = Math.Min(frameSize, block.Length);
        Http2FrameWriter.WriteHeaders(connection.Output, streamId, block[..first], endStream, endHeaders: first == block.Length);
        for (int at = first; at < block.Length; at += frameSize)
        {
            int length = Math.Min(frameSize, block.Length - at);
            Http2FrameWriter.WriteContinuation(connection.Output, streamId, block.Slice(at, length), endHeaders: at + length == block.Length);
        }
    }
}
