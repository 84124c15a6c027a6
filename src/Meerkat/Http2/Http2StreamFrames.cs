// How this file works: the frames that concern streams, as received (RFC 9113 §5.1, §6), for
// Http2Connection. Each handler validates the frame, applies it to the stream's state and flow
// control, and returns the event for the application (or none). The errors, by rule:
//   connection errors (GOAWAY)                      stream errors (RST_STREAM)
//   DATA/HEADERS/PRIORITY/RST_STREAM on stream 0    DATA or HEADERS after the peer's END_STREAM: STREAM_CLOSED
//   padding that does not fit                       DATA on a closed stream we did not reset: STREAM_CLOSED
//   frames other than HEADERS/PRIORITY on an idle   DATA beyond the stream window: FLOW_CONTROL_ERROR
//     stream; HEADERS opening a stream of the       WINDOW_UPDATE of 0 on a stream; a stream window
//     wrong parity or below the highest one          above 2^31-1 (FLOW_CONTROL_ERROR)
//   HEADERS on a closed stream: STREAM_CLOSED       a malformed message (§8.1.1): PROTOCOL_ERROR
//   DATA beyond the connection window               a stream that depends on itself (§5.3.1)
//   RST_STREAM or WINDOW_UPDATE of the wrong size   PRIORITY of the wrong size: FRAME_SIZE_ERROR
//   a field block that does not decode:             a new stream over SETTINGS_MAX_CONCURRENT_STREAMS:
//     COMPRESSION_ERROR                               REFUSED_STREAM
//   floods and oversized field blocks:
//     ENHANCE_YOUR_CALM
// Frames on streams we reset recently are ignored (§5.1 "closed"); DATA dropped that way still
// gives its connection window back.
using Meerkat.Http;
using Meerkat.Http2.Hpack;

namespace Meerkat.Http2;

/// <summary>Receives the stream frames of one connection.</summary>
internal sealed class Http2StreamFrames(Http2Connection connection)
{
    private Http2StreamTable Streams => connection.Streams;

    public Http2Event OnData(Http2Frame frame)
    {
        int id = frame.StreamId;
        if (id == 0) return connection.Fail(Http2ErrorCode.ProtocolError, "DATA on stream 0");
        Http2ErrorCode code = frame.SplitPadded(0, out _, out ReadOnlySpan<byte> content, out _);
        if (code != Http2ErrorCode.NoError) return connection.Fail(code, "DATA padding longer than the frame");
        int flowLength = frame.Payload.Length; // padding included (§6.1)
        if (!connection.Flow.TryReceiveOnConnection(flowLength)) return connection.Fail(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
        if (!Streams.TryGet(id, out Http2Stream stream))
        {
            connection.Flow.CreditConnection(flowLength);
            if (Streams.StatusOf(id) == Http2StreamStatus.Idle) return connection.Fail(Http2ErrorCode.ProtocolError, "DATA on an idle stream");
            return Streams.Recall(id) == Http2ClosedStream.ResetByUs ? default : connection.ResetInactiveStream(id, Http2ErrorCode.StreamClosed);
        }

        string? problem = CheckData(stream, flowLength, content.Length, frame.HasFlag(Http2FrameFlags.EndStream), out code);
        if (problem is not null)
        {
            connection.Flow.CreditConnection(flowLength);
            return connection.ResetStream(stream, code, HttpOutcome.ProtocolError, problem);
        }

        bool endStream = frame.HasFlag(Http2FrameFlags.EndStream);
        if (content.IsEmpty && !endStream && !connection.Unproductive.TryTake(connection.Now))
            return connection.Fail(Http2ErrorCode.EnhanceYourCalm, "flood of empty DATA frames");
        connection.Flow.CreditConnection(flowLength);
        int credit = flowLength - content.Length + (connection.Options.CreditsStreamsOnDelivery ? content.Length : 0);
        if (!endStream) connection.Flow.CreditStream(stream, credit);
        var e = new Http2Event { Kind = Http2EventKind.Data, StreamId = id, Data = content, IsEndStream = endStream, UserState = stream.UserState };
        if (endStream) EndRemote(stream);
        return e;
    }

    /// <summary>The stream-level rules for DATA (§5.1, §6.1, §8.1.1); null when it may be delivered.</summary>
    private static string? CheckData(Http2Stream stream, int flowLength, int contentLength, bool endStream, out Http2ErrorCode code)
    {
        code = Http2ErrorCode.StreamClosed;
        if (!Http2StreamStates.CanReceive(stream.State)) return "DATA after the peer's END_STREAM";
        code = Http2ErrorCode.FlowControlError;
        if (!Http2FlowControl.TryReceiveOnStream(stream, flowLength)) return "DATA beyond the stream window";
        code = Http2ErrorCode.ProtocolError;
        if (stream.Inbound != Http2MessagePhase.Content) return "DATA before the final header section";
        stream.ReceivedContentLength += contentLength;
        long expected = stream.DeclaredContentLength;
        if (expected >= 0 && (stream.ReceivedContentLength > expected || endStream && stream.ReceivedContentLength != expected))
            return "DATA does not add up to content-length (§8.1.1)";
        return null;
    }

    public Http2Event OnHeaders(Http2Frame frame)
    {
        if (frame.StreamId == 0) return connection.Fail(Http2ErrorCode.ProtocolError, "HEADERS on stream 0");
        bool hasPriority = frame.HasFlag(Http2FrameFlags.Priority);
        Http2ErrorCode code = frame.SplitPadded(hasPriority ? 5 : 0, out ReadOnlySpan<byte> priority, out ReadOnlySpan<byte> fragment, out _);
        if (code != Http2ErrorCode.NoError) return connection.Fail(code, "HEADERS padding or priority fields do not fit the frame");
        bool isSelfDependent = hasPriority && Http2Frame.ReadUInt31(priority) == frame.StreamId;
        bool endStream = frame.HasFlag(Http2FrameFlags.EndStream);
        if (frame.HasFlag(Http2FrameFlags.EndHeaders)) return OnFieldBlock(frame.StreamId, endStream, isSelfDependent, fragment);
        if (fragment.IsEmpty && !connection.Unproductive.TryTake(connection.Now)) return connection.Fail(Http2ErrorCode.EnhanceYourCalm, "flood of empty HEADERS frames");
        return Begin(Http2FrameType.Headers, frame.StreamId, endStream, isSelfDependent, 0, fragment);
    }

    public Http2Event OnPushPromise(Http2Frame frame)
    {
        // A server never receives one; a client refuses push (SETTINGS_ENABLE_PUSH=0), and once that
        // is acknowledged a promise is an error (§6.6). Before, it is decoded and its stream cancelled.
        if (connection.IsServer || !connection.LocalAcknowledged.IsPushEnabled) return connection.Fail(Http2ErrorCode.ProtocolError, "PUSH_PROMISE with push disabled");
        Http2ErrorCode code = frame.SplitPadded(4, out ReadOnlySpan<byte> promised, out ReadOnlySpan<byte> fragment, out _);
        if (code != Http2ErrorCode.NoError) return connection.Fail(code, "PUSH_PROMISE padding does not fit the frame");
        int promisedId = Http2Frame.ReadUInt31(promised);
        if (!Streams.TryGet(frame.StreamId, out _) || !Streams.IsPeerInitiated(promisedId) || Streams.StatusOf(promisedId) != Http2StreamStatus.Idle)
            return connection.Fail(Http2ErrorCode.ProtocolError, "PUSH_PROMISE on a stream we did not open, or promising a used stream");
        Streams.NotePeerStream(promisedId);
        if (frame.HasFlag(Http2FrameFlags.EndHeaders)) return OnPushBlock(promisedId, fragment);
        return Begin(Http2FrameType.PushPromise, frame.StreamId, false, false, promisedId, fragment);
    }

    public Http2Event OnContinuation(Http2Frame frame)
    {
        if (!connection.Blocks.IsInProgress) return connection.Fail(Http2ErrorCode.ProtocolError, "CONTINUATION without a field block in progress");
        bool endHeaders = frame.HasFlag(Http2FrameFlags.EndHeaders);
        if (frame.Payload.IsEmpty && !endHeaders && !connection.Unproductive.TryTake(connection.Now))
            return connection.Fail(Http2ErrorCode.EnhanceYourCalm, "flood of empty CONTINUATION frames");
        Http2FieldBlockStatus status = connection.Blocks.Continue(frame.Payload);
        if (status != Http2FieldBlockStatus.Stored) return TooBig(status);
        if (!endHeaders) return default;
        Http2FieldBlockAssembler block = connection.Blocks;
        Http2Event e = block.Type == Http2FrameType.PushPromise
            ? OnPushBlock(block.PromisedStreamId, block.Block)
            : OnFieldBlock(block.StreamId, block.IsEndStream, block.IsSelfDependent, block.Block);
        block.Clear();
        return e;
    }

    public Http2Event OnPriority(Http2Frame frame)
    {
        // Priority signals are accepted and ignored (§5.3.2); only their framing is checked.
        int id = frame.StreamId;
        if (id == 0) return connection.Fail(Http2ErrorCode.ProtocolError, "PRIORITY on stream 0");
        string? problem = frame.Payload.Length != 5 ? "PRIORITY length other than 5" : Http2Frame.ReadUInt31(frame.Payload) == id ? "stream depends on itself (§5.3.1)" : null;
        Http2ErrorCode code = frame.Payload.Length != 5 ? Http2ErrorCode.FrameSizeError : Http2ErrorCode.ProtocolError;
        if (problem is not null)
        {
            // A stream error, but an idle or closed stream cannot be reset: fail the connection then.
            return Streams.TryGet(id, out Http2Stream stream) ? connection.ResetStream(stream, code, HttpOutcome.ProtocolError, problem) : connection.Fail(code, problem);
        }

        return connection.Unproductive.TryTake(connection.Now) ? default : connection.Fail(Http2ErrorCode.EnhanceYourCalm, "PRIORITY flood");
    }

    public Http2Event OnRstStream(Http2Frame frame)
    {
        if (frame.Payload.Length != 4) return connection.Fail(Http2ErrorCode.FrameSizeError, "RST_STREAM length other than 4");
        if (frame.StreamId == 0) return connection.Fail(Http2ErrorCode.ProtocolError, "RST_STREAM on stream 0");
        if (!Streams.TryGet(frame.StreamId, out Http2Stream stream))
            return Streams.StatusOf(frame.StreamId) == Http2StreamStatus.Idle ? connection.Fail(Http2ErrorCode.ProtocolError, "RST_STREAM on an idle stream") : default;
        Http2ErrorCode code = Http2Frame.ReadErrorCode(frame.Payload);
        // NO_ERROR after a complete response just stops our upload (§8.1): the exchange completed.
        bool isComplete = code == Http2ErrorCode.NoError && stream.Inbound == Http2MessagePhase.Complete;
        connection.CloseStream(stream, isComplete ? HttpOutcome.Completed : HttpOutcome.Reset, code, "reset by the peer", isRefused: code == Http2ErrorCode.RefusedStream);
        return connection.CountReset();
    }

    public Http2Event OnWindowUpdate(Http2Frame frame)
    {
        if (frame.Payload.Length != 4) return connection.Fail(Http2ErrorCode.FrameSizeError, "WINDOW_UPDATE length other than 4");
        int increment = Http2Frame.ReadUInt31(frame.Payload);
        int id = frame.StreamId;
        if (id == 0)
        {
            if (increment == 0) return connection.Fail(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE of 0 on the connection");
            if (!connection.Flow.TryGrowConnectionSendWindow(increment)) return connection.Fail(Http2ErrorCode.FlowControlError, "connection window above 2^31-1");
            connection.Flow.WakeBlockedStreams(Streams, connection.Events);
            return default;
        }

        if (!Streams.TryGet(id, out Http2Stream stream))
            return Streams.StatusOf(id) == Http2StreamStatus.Idle ? connection.Fail(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream") : default;
        if (increment == 0) return connection.ResetStream(stream, Http2ErrorCode.ProtocolError, HttpOutcome.ProtocolError, "WINDOW_UPDATE of 0");
        if (!Http2FlowControl.TryGrowStreamSendWindow(stream, increment)) return connection.ResetStream(stream, Http2ErrorCode.FlowControlError, HttpOutcome.ProtocolError, "stream window above 2^31-1");
        connection.Flow.WakeIfSendable(stream, connection.Events);
        return default;
    }

    private Http2Event Begin(Http2FrameType type, int streamId, bool endStream, bool isSelfDependent, int promisedId, ReadOnlySpan<byte> fragment)
    {
        Http2FieldBlockStatus status = connection.Blocks.Begin(type, streamId, endStream, isSelfDependent, promisedId, fragment);
        return status == Http2FieldBlockStatus.Stored ? default : TooBig(status);
    }

    private Http2Event TooBig(Http2FieldBlockStatus status) => connection.Fail(Http2ErrorCode.EnhanceYourCalm,
        status == Http2FieldBlockStatus.TooLarge ? "field block larger than the limit (CONTINUATION flood)" : "too many CONTINUATION frames (CONTINUATION flood)");

    private Http2Event OnPushBlock(int promisedId, ReadOnlySpan<byte> block)
    {
        HpackError error = connection.Decoder.Decode(block, connection.FieldList); // kept in step, then refused
        if (error != HpackError.None) return connection.Fail(Http2ErrorCode.CompressionError, HpackMessages.Of(error));
        return connection.ResetInactiveStream(promisedId, Http2ErrorCode.Cancel);
    }

    /// <summary>A whole field block from HEADERS (and CONTINUATION): always decoded, to keep HPACK in step (§4.3), then applied.</summary>
    private Http2Event OnFieldBlock(int streamId, bool endStream, bool isSelfDependent, ReadOnlySpan<byte> block)
    {
        HpackError error = connection.Decoder.Decode(block, connection.FieldList);
        if (error != HpackError.None) return connection.Fail(Http2ErrorCode.CompressionError, HpackMessages.Of(error));
        if (Streams.TryGet(streamId, out Http2Stream stream)) return OnStreamFieldBlock(stream, endStream, isSelfDependent);
        Http2StreamStatus status = Streams.StatusOf(streamId);
        if (status == Http2StreamStatus.Closed)
        {
            return Streams.Recall(streamId) switch
            {
                Http2ClosedStream.ResetByUs => default,
                Http2ClosedStream.Closed => connection.Fail(Http2ErrorCode.StreamClosed, "HEADERS on a closed stream"),
                _ => connection.Fail(Http2ErrorCode.ProtocolError, "HEADERS on a stream identifier below one already used (§5.1.1)"),
            };
        }

        if (!connection.IsServer || !Streams.IsPeerInitiated(streamId))
            return connection.Fail(Http2ErrorCode.ProtocolError, "HEADERS opening a stream the peer may not open (wrong parity, or push)");
        return OnRequest(streamId, endStream, isSelfDependent);
    }

    /// <summary>Server: a new stream's request header section.</summary>
    private Http2Event OnRequest(int streamId, bool endStream, bool isSelfDependent)
    {
        Streams.NotePeerStream(streamId);
        if (connection.State >= Http2ConnectionState.Draining && streamId > connection.GoAwaySentLastStreamId)
        {
            Streams.RememberClosed(streamId, isResetByUs: true); // after our GOAWAY: ignored, and so is what follows on it (§6.8)
            return default;
        }

        if (connection.FieldList.IsOverLimit) return RejectTooLarge(streamId, endStream);
        if (Streams.PeerInitiatedCount >= connection.Options.MaxConcurrentStreams) return connection.ResetInactiveStream(streamId, Http2ErrorCode.RefusedStream);
        Http2HeaderSection section = connection.Section;
        string? problem = isSelfDependent ? "stream depends on itself (§5.3.1)" : Http2FieldValidation.ValidateRequest(connection.FieldList, section, false);
        if (problem is null && endStream && section.ContentLength > 0) problem = "END_STREAM with a non-zero content-length (§8.1.1)";
        if (problem is not null) return connection.ResetInactiveStream(streamId, Http2ErrorCode.ProtocolError);
        Http2Stream stream = Streams.AddPeerStream(streamId, connection.RemoteSettings.InitialWindowSize, connection.LocalAcknowledged.InitialWindowSize);
        stream.Apply(Http2StreamInput.ReceiveHeaders);
        stream.Inbound = Http2MessagePhase.Content;
        stream.DeclaredContentLength = section.ContentLength;
        stream.IsAnnounced = true;
        if (endStream) EndRemote(stream);
        return new Http2Event { Kind = Http2EventKind.Headers, StreamId = streamId, Section = section, IsEndStream = endStream };
    }

    /// <summary>A header section on an active stream: a client's response (1xx included), or trailers.</summary>
    private Http2Event OnStreamFieldBlock(Http2Stream stream, bool endStream, bool isSelfDependent)
    {
        if (!Http2StreamStates.CanReceive(stream.State)) return connection.ResetStream(stream, Http2ErrorCode.StreamClosed, HttpOutcome.ProtocolError, "HEADERS after the peer's END_STREAM");
        string? problem = isSelfDependent ? "stream depends on itself (§5.3.1)"
            : connection.FieldList.IsOverLimit ? "header section larger than SETTINGS_MAX_HEADER_LIST_SIZE" : null;
        if (problem is not null) return connection.ResetStream(stream, Http2ErrorCode.ProtocolError, HttpOutcome.ProtocolError, problem);
        return stream.Inbound == Http2MessagePhase.Headers ? OnResponse(stream, endStream) : OnTrailers(stream, endStream);
    }

    private Http2Event OnResponse(Http2Stream stream, bool endStream)
    {
        Http2HeaderSection section = connection.Section;
        string? problem = Http2FieldValidation.ValidateResponse(connection.FieldList, section);
        bool hasNoContent = stream.IsHeadRequest || section.Status is 204 or 304;
        long expected = hasNoContent ? 0 : section.ContentLength;
        if (problem is null && section.IsInformational && endStream) problem = "informational response with END_STREAM";
        if (problem is null && endStream && expected > 0) problem = "END_STREAM with a non-zero content-length (§8.1.1)";
        if (problem is not null) return connection.ResetStream(stream, Http2ErrorCode.ProtocolError, HttpOutcome.ProtocolError, problem);
        if (!section.IsInformational)
        {
            stream.Inbound = Http2MessagePhase.Content;
            stream.DeclaredContentLength = expected;
        }

        var e = new Http2Event { Kind = Http2EventKind.Headers, StreamId = stream.Id, Section = section, IsEndStream = endStream, UserState = stream.UserState };
        if (endStream) EndRemote(stream);
        return e;
    }

    private Http2Event OnTrailers(Http2Stream stream, bool endStream)
    {
        string? problem = !endStream ? "a second header section without END_STREAM (§8.1)" : Http2FieldValidation.ValidateTrailers(connection.FieldList, connection.Section);
        long expected = stream.DeclaredContentLength;
        if (problem is null && expected >= 0 && stream.ReceivedContentLength != expected) problem = "DATA does not add up to content-length (§8.1.1)";
        if (problem is not null) return connection.ResetStream(stream, Http2ErrorCode.ProtocolError, HttpOutcome.ProtocolError, problem);
        var e = new Http2Event { Kind = Http2EventKind.Trailers, StreamId = stream.Id, Section = connection.Section, IsEndStream = true, UserState = stream.UserState };
        EndRemote(stream);
        return e;
    }

    /// <summary>The peer's END_STREAM arrived: its message is complete, and the stream closes if ours is too.</summary>
    private void EndRemote(Http2Stream stream)
    {
        stream.Inbound = Http2MessagePhase.Complete;
        stream.Apply(Http2StreamInput.ReceiveEndStream);
        if (stream.State == Http2StreamState.Closed) connection.CloseStream(stream, HttpOutcome.Completed);
    }

    /// <summary>Server: a request whose header section is over our limit gets 431 (§10.5.1) without reaching the application.</summary>
    private Http2Event RejectTooLarge(int streamId, bool endStream)
    {
        connection.SendBareResponse(streamId, 431);
        if (!endStream) Http2FrameWriter.WriteRstStream(connection.Output, streamId, Http2ErrorCode.NoError);
        Streams.RememberClosed(streamId, isResetByUs: true);
        return connection.CountReset();
    }
}

/// <summary>Debug-data texts for HPACK errors.</summary>
internal static class HpackMessages
{
    public static string Of(HpackError error) => error switch
    {
        HpackError.Truncated => "field block ends inside a representation",
        HpackError.IntegerOverflow => "HPACK integer larger than 2^31-1",
        HpackError.InvalidIndex => "HPACK index 0 or beyond the tables",
        HpackError.InvalidHuffman => "invalid Huffman string (EOS or bad padding)",
        HpackError.SizeUpdateNotAtStart => "dynamic table size update after a field",
        HpackError.SizeUpdateTooLarge => "dynamic table size update above SETTINGS_HEADER_TABLE_SIZE",
        _ => "missing dynamic table size update after SETTINGS_HEADER_TABLE_SIZE was lowered",
    };
}
