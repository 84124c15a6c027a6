// How this file works: one end of an HTTP/2 connection (RFC 9113), sans I/O. Received bytes go
// in through Receive, which returns one event at a time (Http2Event.cs has the table); frames to
// send (answers to SETTINGS and PING, WINDOW_UPDATE, RST_STREAM, GOAWAY, and everything the
// application sends) are written to the output given at construction. Time is an argument:
// Receive and Tick take the caller's clock (Stopwatch ticks), and NextDeadline says when Tick
// is next needed. Streams are handled in Http2StreamFrames (receiving) and Http2StreamSender
// (sending), SETTINGS and PING in Http2ControlFrames; this file holds the connection: the
// preface, the dispatch of frames, GOAWAY and shutdown, errors, timers.
//
// Connection states (ordered, so checks read "State >= Draining"):
//   AwaitingPreface   server: the client's 24-octet preface is not complete   -> AwaitingSettings, Closed
//   AwaitingSettings  the peer's first frame must be SETTINGS (§3.4)            -> Open, Closed
//   Open              streams come and go                                        -> ShuttingDown, Draining, Closed
//   ShuttingDown      server: GOAWAY(2^31-1) and a PING sent; streams are still
//                     accepted until the PING returns (or a timeout), §6.8       -> Draining, Closed
//   Draining          the final GOAWAY was sent or received: no new streams;
//                     the rest finish                                            -> Closed
//   Closed            a connection error (GOAWAY sent), the transport ended, or a
//                     draining connection's last stream closed. Input is discarded,
//                     nothing more is sent: flush the output and close.           (terminal)
//
// Every protocol error ends up in one of two places: Fail (a connection error: GOAWAY with the
// code, every stream closed) or a stream error (RST_STREAM with the code, that stream closed).
// Each application-visible stream gets exactly one StreamClosed event, whatever the path.
using System.Buffers;
using System.Diagnostics;
using System.Text;
using Meerkat.Http;
using Meerkat.Http2.Hpack;

namespace Meerkat.Http2;

/// <summary>The life of an HTTP/2 connection, ordered: AwaitingPreface &lt; AwaitingSettings &lt; Open &lt; ShuttingDown &lt; Draining &lt; Closed.</summary>
internal enum Http2ConnectionState
{
    /// <summary>Server: waiting for the client's connection preface.</summary>
    AwaitingPreface,

    /// <summary>Waiting for the peer's first SETTINGS.</summary>
    AwaitingSettings,

    /// <summary>Streams come and go.</summary>
    Open,

    /// <summary>Server: a graceful shutdown announced; in-flight streams are still accepted.</summary>
    ShuttingDown,

    /// <summary>The final GOAWAY was sent or received; existing streams finish.</summary>
    Draining,

    /// <summary>Done: flush the output and close the transport.</summary>
    Closed,
}

/// <summary>
/// A sans-I/O HTTP/2 endpoint, server or client: bytes and time in, events and bytes out. One
/// per connection, used from one thread (the loop thread).
/// </summary>
internal sealed class Http2Connection
{
    private const ulong ShutdownPingData = 0x4d65_6572_6b61_7421; // "Meerkat!"
    private const int MaxDebugDataLength = 256;
    private const uint InitialConcurrencyGuess = 100;

    private readonly Http2Options _options;
    private readonly IBufferWriter<byte> _output;
    private readonly Http2EventQueue _events = new();
    private readonly List<Http2Stream> _scratch = [];
    private readonly long _stallTimeoutTicks;
    private readonly long _shutdownPingTimeoutTicks;
    private long _shutdownDeadline;
    private int _prefaceMatched;

    /// <summary>
    /// Creates an endpoint and writes its connection preface to <paramref name="output"/>: a
    /// client's magic octets, then (both sides) SETTINGS and the WINDOW_UPDATE that opens the
    /// connection window.
    /// </summary>
    public Http2Connection(bool isServer, IBufferWriter<byte> output, long now, Http2Options? options = null)
    {
        _options = options ?? new Http2Options();
        _options.Validate();
        _output = output;
        IsServer = isServer;
        Now = now;
        Streams = new Http2StreamTable(isServer);
        Decoder = new HpackDecoder(HpackEncoder.DefaultTableSize);
        Encoder = new HpackEncoder(_options.EncoderTableSize);
        FieldList = new HpackFieldList(_options.MaxHeaderListSize);
        Blocks = new Http2FieldBlockAssembler(_options.MaxFieldBlockSize, _options.MaxContinuationFrames);
        Flow = new Http2FlowControl(output, _options.ConnectionWindowSize);
        Resets = new Http2RateLimiter(_options.StreamResets, now);
        Unproductive = new Http2RateLimiter(_options.UnproductiveFrames, now);
        _stallTimeoutTicks = Ticks(_options.SendStallTimeout);
        _shutdownPingTimeoutTicks = Ticks(_options.ShutdownPingTimeout);
        Control = new Http2ControlFrames(this, _options, now);
        Receiver = new Http2StreamFrames(this);
        Sender = new Http2StreamSender(this);
        State = isServer ? Http2ConnectionState.AwaitingPreface : Http2ConnectionState.AwaitingSettings;
        if (!isServer) Write(Http2Preface.Bytes);
        Control.SendSettings(now);
        Flow.OpenConnectionWindow();
    }

    /// <summary>True for the server's end.</summary>
    public bool IsServer { get; }

    /// <summary>Where the connection stands.</summary>
    public Http2ConnectionState State { get; private set; }

    /// <summary>The peer's SETTINGS as applied so far.</summary>
    public Http2Settings RemoteSettings => Control.Remote;

    /// <summary>Streams open or half-closed.</summary>
    public int ActiveStreamCount => Streams.Count;

    /// <summary>The last stream identifier of the GOAWAY we sent, or -1.</summary>
    public int GoAwaySentLastStreamId { get; private set; } = -1;

    /// <summary>The last stream identifier of the GOAWAY we received, or -1.</summary>
    public int GoAwayReceivedLastStreamId { get; private set; } = -1;

    /// <summary>
    /// True when a client may open a stream now: not going away, under the peer's
    /// SETTINGS_MAX_CONCURRENT_STREAMS, identifiers left. Until the server's SETTINGS arrive its
    /// limit is unknown (unlimited, says the protocol); this assumes 100, the least §5.1.2
    /// recommends servers allow, so that a burst of requests at start is not mostly refused.
    /// </summary>
    public bool CanOpenStream => !IsServer && State <= Http2ConnectionState.Open && Streams.NextLocalStreamId <= Http2FrameHeader.MaxStreamId
        && Streams.LocallyInitiatedCount < (State == Http2ConnectionState.AwaitingSettings ? Math.Min(InitialConcurrencyGuess, RemoteSettings.MaxConcurrentStreams) : RemoteSettings.MaxConcurrentStreams);

    /// <summary>When <see cref="Tick"/> must next run (Stopwatch ticks), or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline
    {
        get
        {
            long next = Control.SettingsDeadline;
            if (State == Http2ConnectionState.ShuttingDown) next = Math.Min(next, _shutdownDeadline);
            foreach (Http2Stream stream in Streams.Streams)
            {
                if (stream.IsBlocked) next = Math.Min(next, stream.BlockedSince + _stallTimeoutTicks);
            }

            return State == Http2ConnectionState.Closed ? long.MaxValue : next;
        }
    }

    // Shared with Http2StreamFrames and Http2StreamSender, the two halves of stream handling.
    internal Http2Options Options => _options;
    internal Http2StreamTable Streams { get; }
    internal HpackDecoder Decoder { get; }
    internal HpackEncoder Encoder { get; }
    internal HpackFieldList FieldList { get; }
    internal Http2HeaderSection Section { get; } = new();
    internal Http2FieldBlockAssembler Blocks { get; }
    internal Http2FlowControl Flow { get; }
    internal Http2Settings LocalAcknowledged => Control.LocalAcknowledged;
    internal Http2RateLimiter Resets;
    internal Http2RateLimiter Unproductive;
    internal IBufferWriter<byte> Output => _output;
    internal Http2EventQueue Events => _events;
    internal long Now { get; private set; }
    private Http2ControlFrames Control { get; }
    private Http2StreamFrames Receiver { get; }
    private Http2StreamSender Sender { get; }

    /// <summary>
    /// Consumes received bytes and returns the next event; call again (with the input after
    /// <paramref name="consumed"/>) until <see cref="Http2EventKind.NeedMoreData"/>. Only whole
    /// frames are consumed: keep the rest and call again with more. Answers (SETTINGS and PING
    /// acknowledgements, WINDOW_UPDATE, RST_STREAM, GOAWAY) are written to the output before the
    /// event is returned. The event's spans are valid until the next call. After
    /// <see cref="Http2ConnectionState.Closed"/> all input is discarded. Call with empty input
    /// to collect events decided by sends, <see cref="Tick"/> or <see cref="Abort"/>.
    /// </summary>
    public Http2Event Receive(ReadOnlySpan<byte> input, long now, out int consumed)
    {
        Now = now;
        consumed = 0;
        while (true)
        {
            if (_events.TryDequeue(out Http2PendingEvent pending)) return pending.ToEvent();
            if (State == Http2ConnectionState.Closed)
            {
                consumed = input.Length;
                return default;
            }

            if (State == Http2ConnectionState.AwaitingPreface)
            {
                if (!ReadPreface(input, ref consumed)) return default;
                continue;
            }

            switch (Http2Frame.TryRead(input[consumed..], Control.Local.MaxFrameSize, out Http2Frame frame))
            {
                case Http2FrameReadStatus.NeedMoreData:
                    return default;
                case Http2FrameReadStatus.FrameTooLarge:
                    Fail(Http2ErrorCode.FrameSizeError, "frame larger than our SETTINGS_MAX_FRAME_SIZE");
                    continue;
            }

            consumed += frame.EncodedLength;
            Http2Event e = OnFrame(frame);
            if (e.Kind != Http2EventKind.NeedMoreData) return e;
        }
    }

    /// <summary>The transport ended: every stream still open ends with <see cref="HttpOutcome.PeerClosed"/>.</summary>
    public void ReceiveEndOfStream() => Abort(HttpOutcome.PeerClosed, "the peer closed the connection");

    /// <summary>
    /// Runs the deadlines due at <paramref name="now"/>: an unacknowledged SETTINGS
    /// (SETTINGS_TIMEOUT), the second step of a graceful shutdown, streams stalled on a zero
    /// window (reset with CANCEL). Events it decides are collected with <see cref="Receive"/>.
    /// </summary>
    public void Tick(long now)
    {
        Now = now;
        if (State == Http2ConnectionState.Closed) return;
        if (now >= Control.SettingsDeadline)
        {
            Fail(Http2ErrorCode.SettingsTimeout, "our SETTINGS were not acknowledged in time", HttpOutcome.Deadline);
            return;
        }

        if (State == Http2ConnectionState.ShuttingDown && now >= _shutdownDeadline) SendFinalGoAway();
        _scratch.Clear();
        foreach (Http2Stream stream in Streams.Streams)
        {
            if (stream.IsBlocked && now - stream.BlockedSince >= _stallTimeoutTicks) _scratch.Add(stream);
        }

        foreach (Http2Stream stream in _scratch) ResetStream(stream, Http2ErrorCode.Cancel, HttpOutcome.Deadline, "no send window for longer than the stall timeout");
    }

    /// <summary>
    /// Begins a graceful shutdown. A server sends GOAWAY with the last stream 2^31-1 and a PING,
    /// then, when the PING returns (or after <see cref="Http2Options.ShutdownPingTimeout"/>), the
    /// final GOAWAY naming the last stream it accepted (§6.8); a client sends its final GOAWAY at
    /// once. Streams already accepted finish; the connection is Closed after the last one.
    /// </summary>
    public void BeginShutdown(long now)
    {
        Now = now;
        if (State >= Http2ConnectionState.ShuttingDown) return;
        if (!IsServer || State < Http2ConnectionState.Open)
        {
            SendFinalGoAway();
            return;
        }

        Http2FrameWriter.WriteGoAway(_output, Http2FrameHeader.MaxStreamId, Http2ErrorCode.NoError, default);
        Http2FrameWriter.WritePing(_output, ShutdownPingData, isAck: false);
        _shutdownDeadline = now + _shutdownPingTimeoutTicks;
        State = Http2ConnectionState.ShuttingDown;
    }

    /// <summary>
    /// Ends the connection without a frame: the transport is gone, or the application is
    /// tearing it down. Every open stream ends with <paramref name="outcome"/> (collect the
    /// events with <see cref="Receive"/>).
    /// </summary>
    public void Abort(HttpOutcome outcome, string reason)
    {
        if (State == Http2ConnectionState.Closed) return;
        State = Http2ConnectionState.Closed;
        CloseAllStreams(outcome, Http2ErrorCode.NoError, reason);
    }

    /// <summary>
    /// Server, after answering an HTTP/1.1 request with 101 to "Upgrade: h2c" (RFC 7540 §3.2): applies
    /// the request's HTTP2-Settings (validated by <see cref="Http2Upgrade.TryDecodeSettings"/>) and
    /// takes the request as stream 1, half-closed (remote): its response is sent on stream 1 with
    /// <see cref="SendHeaders"/>, and the stream gets its StreamClosed like any other. The client's
    /// preface still follows.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is a client, or a stream was already opened.</exception>
    /// <exception cref="ArgumentException">The settings are not a valid SETTINGS payload.</exception>
    public void AcceptUpgrade(ReadOnlySpan<byte> http2Settings)
    {
        if (!IsServer || Streams.HighestPeerStreamId != 0) throw new InvalidOperationException("only a server that has opened no stream accepts an upgrade");
        if (http2Settings.Length % Http2Setting.Size != 0) throw new ArgumentException("a SETTINGS payload is a multiple of 6 octets", nameof(http2Settings));
        var check = new Http2Settings();
        for (int at = 0; at < http2Settings.Length; at += Http2Setting.Size)
        {
            if (check.Apply(Http2Upgrade.Read(http2Settings, at), out string? reason) != Http2ErrorCode.NoError) throw new ArgumentException(reason, nameof(http2Settings));
        }

        for (int at = 0; at < http2Settings.Length; at += Http2Setting.Size) Control.ApplyRemote(Http2Upgrade.Read(http2Settings, at));
        Http2Stream stream = Streams.AddPeerStream(1, RemoteSettings.InitialWindowSize, LocalAcknowledged.InitialWindowSize);
        stream.Apply(Http2StreamInput.ReceiveHeaders);
        stream.Apply(Http2StreamInput.ReceiveEndStream);
        stream.Inbound = Http2MessagePhase.Complete;
        stream.IsAnnounced = true;
    }

    /// <summary>
    /// Client, after a 101 answered its "Upgrade: h2c" request: that request becomes stream 1,
    /// half-closed (local), whose response arrives as HTTP/2 events (RFC 7540 §3.2).
    /// </summary>
    /// <exception cref="InvalidOperationException">This is a server, or a stream was already opened.</exception>
    public int CompleteUpgrade(bool isHeadRequest)
    {
        if (IsServer || Streams.HighestLocalStreamId != 0) throw new InvalidOperationException("only a client that has opened no stream completes an upgrade");
        Http2Stream stream = Streams.AddLocalStream(RemoteSettings.InitialWindowSize, LocalAcknowledged.InitialWindowSize);
        stream.IsAnnounced = true;
        stream.IsHeadRequest = isHeadRequest;
        stream.Apply(Http2StreamInput.SendHeaders);
        stream.Apply(Http2StreamInput.SendEndStream);
        stream.Outbound = Http2MessagePhase.Complete;
        return stream.Id;
    }

    /// <summary>Sends a PING; its acknowledgement comes back as <see cref="Http2EventKind.PingAcknowledged"/>.</summary>
    public void SendPing(ulong opaqueData)
    {
        if (State < Http2ConnectionState.Closed) Http2FrameWriter.WritePing(_output, opaqueData, isAck: false);
    }

    /// <summary>Client: opens a stream with a request header section. See <see cref="Http2StreamSender.OpenStream"/>.</summary>
    public int OpenStream(Http2HeaderList request, bool endStream) => Sender.OpenStream(request, endStream);

    /// <summary>Sends a header section (a response, 1xx included, or trailers). See <see cref="Http2StreamSender.SendHeaders"/>.</summary>
    public bool SendHeaders(int streamId, Http2HeaderList fields, bool endStream) => Sender.SendHeaders(streamId, fields, endStream);

    /// <summary>Sends content within the flow-control windows. See <see cref="Http2StreamSender.TrySendData"/>.</summary>
    public bool TrySendData(int streamId, ReadOnlySpan<byte> data, bool endStream, long now, out int written)
    {
        Now = now;
        return Sender.TrySendData(streamId, data, endStream, out written);
    }

    /// <summary>Resets a stream (RST_STREAM) on the application's behalf; false when it is already closed.</summary>
    public bool ResetStream(int streamId, Http2ErrorCode code, HttpOutcome outcome = HttpOutcome.Cancelled)
    {
        if (!Streams.TryGet(streamId, out Http2Stream stream)) return false;
        ResetStream(stream, code, outcome, "reset by the application");
        return true;
    }

    /// <summary>Credits back <paramref name="count"/> consumed octets of a stream (when <see cref="Http2Options.CreditsStreamsOnDelivery"/> is off).</summary>
    public void ReturnCredit(int streamId, int count)
    {
        if (Streams.TryGet(streamId, out Http2Stream stream)) Flow.CreditStream(stream, count);
    }

    /// <summary>Octets <paramref name="streamId"/> may send now (0 when it is closed).</summary>
    public int GetSendWindow(int streamId) => Streams.TryGet(streamId, out Http2Stream stream) ? Flow.SendBudget(stream) : 0;

    /// <summary>Attaches the application's object to a stream; it comes back in the stream's events.</summary>
    public void SetUserState(int streamId, object? state)
    {
        if (Streams.TryGet(streamId, out Http2Stream stream)) stream.UserState = state;
    }

    /// <summary>
    /// A connection error (§5.4.1): GOAWAY with <paramref name="code"/>, the last peer stream we
    /// processed and the reason as debug data; every stream ends with <paramref name="outcome"/>.
    /// The ConnectionError event comes first, then the streams' StreamClosed. Returns no event
    /// itself (Receive collects the queued ones).
    /// </summary>
    internal Http2Event Fail(Http2ErrorCode code, string reason, HttpOutcome outcome = HttpOutcome.ProtocolError)
    {
        if (State == Http2ConnectionState.Closed) return default;
        GoAwaySentLastStreamId = Streams.HighestPeerStreamId;
        Span<byte> debug = stackalloc byte[Math.Min(reason.Length, MaxDebugDataLength)];
        Encoding.ASCII.GetBytes(reason.AsSpan(0, debug.Length), debug);
        Http2FrameWriter.WriteGoAway(_output, GoAwaySentLastStreamId, code, debug);
        State = Http2ConnectionState.Closed;
        Blocks.Clear();
        _events.Enqueue(new Http2PendingEvent(Http2EventKind.ConnectionError, 0, code, outcome, Reason: reason));
        CloseAllStreams(outcome, code, reason);
        return default;
    }

    /// <summary>
    /// A stream error (§5.4.2) on an active stream: RST_STREAM, remembered so that frames already
    /// in flight are ignored, and the stream ends with <paramref name="outcome"/>. Resets count
    /// against the rapid-reset budget unless the application asked for them.
    /// </summary>
    internal Http2Event ResetStream(Http2Stream stream, Http2ErrorCode code, HttpOutcome outcome, string reason)
    {
        Http2FrameWriter.WriteRstStream(_output, stream.Id, code);
        CloseStream(stream, outcome, code, reason, isResetByUs: true);
        return outcome == HttpOutcome.ProtocolError ? CountReset() : default;
    }

    /// <summary>A stream error on a stream that is not active (refused, malformed before it opened, or already closed).</summary>
    internal Http2Event ResetInactiveStream(int streamId, Http2ErrorCode code)
    {
        Http2FrameWriter.WriteRstStream(_output, streamId, code);
        Streams.RememberClosed(streamId, isResetByUs: true);
        return CountReset();
    }

    /// <summary>A response with no content sent on a stream the application never saw (431 for an oversized request).</summary>
    internal void SendBareResponse(int streamId, int status) => Sender.SendBareResponse(streamId, status);

    /// <summary>Counts a reset against the rapid-reset budget (CVE-2023-44487, CVE-2019-9514); over it, ENHANCE_YOUR_CALM.</summary>
    internal Http2Event CountReset() =>
        Resets.TryTake(Now) ? default : Fail(Http2ErrorCode.EnhanceYourCalm, "too many stream resets (rapid reset, CVE-2023-44487)");

    /// <summary>Ends a stream: one StreamClosed if the application knew it, and back to the pool.</summary>
    internal void CloseStream(Http2Stream stream, HttpOutcome outcome, Http2ErrorCode code = Http2ErrorCode.NoError, string? reason = null, bool isRefused = false, bool isResetByUs = false)
    {
        stream.State = Http2StreamState.Closed;
        Streams.RememberClosed(stream.Id, isResetByUs);
        if (stream.IsAnnounced) _events.Enqueue(new Http2PendingEvent(Http2EventKind.StreamClosed, stream.Id, code, outcome, isRefused, reason, stream.UserState));
        Streams.Remove(stream);
        if (State == Http2ConnectionState.Draining && Streams.Count == 0) State = Http2ConnectionState.Closed;
    }

    private Http2Event OnFrame(Http2Frame frame)
    {
        if (Blocks.IsInProgress && (frame.Type != Http2FrameType.Continuation || frame.StreamId != Blocks.StreamId))
            return Fail(Http2ErrorCode.ProtocolError, "a field block was interrupted by another frame (CONTINUATION expected, §6.10)");
        if (State == Http2ConnectionState.AwaitingSettings && (frame.Type != Http2FrameType.Settings || frame.HasFlag(Http2FrameFlags.Ack)))
            return Fail(Http2ErrorCode.ProtocolError, "the peer's first frame was not SETTINGS (§3.4)");
        return frame.Type switch
        {
            Http2FrameType.Data => Receiver.OnData(frame),
            Http2FrameType.Headers => Receiver.OnHeaders(frame),
            Http2FrameType.Priority => Receiver.OnPriority(frame),
            Http2FrameType.RstStream => Receiver.OnRstStream(frame),
            Http2FrameType.Settings => AfterSettings(Control.OnSettings(frame)),
            Http2FrameType.PushPromise => Receiver.OnPushPromise(frame),
            Http2FrameType.Ping => AfterPing(Control.OnPing(frame)),
            Http2FrameType.GoAway => OnGoAway(frame),
            Http2FrameType.WindowUpdate => Receiver.OnWindowUpdate(frame),
            Http2FrameType.Continuation => Receiver.OnContinuation(frame),
            _ => default, // extension frames are ignored (§5.5)
        };
    }

    private bool ReadPreface(ReadOnlySpan<byte> input, ref int consumed)
    {
        ReadOnlySpan<byte> rest = Http2Preface.Bytes[_prefaceMatched..];
        int length = Math.Min(rest.Length, input.Length - consumed);
        if (!input.Slice(consumed, length).SequenceEqual(rest[..length]))
        {
            Fail(Http2ErrorCode.ProtocolError, "invalid connection preface (§3.4)");
            return true;
        }

        consumed += length;
        _prefaceMatched += length;
        if (_prefaceMatched < Http2Preface.Bytes.Length) return false;
        State = Http2ConnectionState.AwaitingSettings;
        return true;
    }

    /// <summary>The peer's first SETTINGS opens the connection (§3.4).</summary>
    private Http2Event AfterSettings(Http2Event e)
    {
        if (e.Kind == Http2EventKind.Settings && State == Http2ConnectionState.AwaitingSettings) State = Http2ConnectionState.Open;
        return e;
    }

    /// <summary>The answer to the PING of a graceful shutdown: every stream in flight has arrived, send the final GOAWAY (§6.8).</summary>
    private Http2Event AfterPing(Http2Event e)
    {
        if (e.Kind == Http2EventKind.PingAcknowledged && State == Http2ConnectionState.ShuttingDown && e.PingData == ShutdownPingData) SendFinalGoAway();
        return e;
    }

    private Http2Event OnGoAway(Http2Frame frame)
    {
        if (frame.StreamId != 0) return Fail(Http2ErrorCode.ProtocolError, "GOAWAY on a stream");
        if (frame.Payload.Length < 8) return Fail(Http2ErrorCode.FrameSizeError, "GOAWAY shorter than 8 octets");
        int lastStreamId = Http2Frame.ReadUInt31(frame.Payload);
        Http2ErrorCode code = Http2Frame.ReadErrorCode(frame.Payload[4..]);
        GoAwayReceivedLastStreamId = GoAwayReceivedLastStreamId < 0 ? lastStreamId : Math.Min(GoAwayReceivedLastStreamId, lastStreamId);
        // Streams we opened above the last one were not processed: the application may retry them (§6.8).
        _scratch.Clear();
        foreach (Http2Stream stream in Streams.Streams)
        {
            if (!Streams.IsPeerInitiated(stream.Id) && stream.Id > GoAwayReceivedLastStreamId) _scratch.Add(stream);
        }

        var e = new Http2Event { Kind = Http2EventKind.GoAway, LastStreamId = lastStreamId, ErrorCode = code, Data = frame.Payload[8..] };
        if (State < Http2ConnectionState.Draining) State = Http2ConnectionState.Draining;
        foreach (Http2Stream stream in _scratch) CloseStream(stream, HttpOutcome.Reset, code, "not processed before the peer's GOAWAY", isRefused: true);
        if (Streams.Count == 0) State = Http2ConnectionState.Closed;
        return e;
    }

    private void SendFinalGoAway()
    {
        GoAwaySentLastStreamId = Streams.HighestPeerStreamId;
        Http2FrameWriter.WriteGoAway(_output, GoAwaySentLastStreamId, Http2ErrorCode.NoError, default);
        State = Http2ConnectionState.Draining;
        if (Streams.Count == 0) State = Http2ConnectionState.Closed;
    }

    private void CloseAllStreams(HttpOutcome outcome, Http2ErrorCode code, string reason)
    {
        _scratch.Clear();
        _scratch.AddRange(Streams.Streams);
        foreach (Http2Stream stream in _scratch) CloseStream(stream, outcome, code, reason);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_output.GetSpan(bytes.Length));
        _output.Advance(bytes.Length);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
