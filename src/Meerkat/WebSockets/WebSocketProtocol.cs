// How this file works: one endpoint of a WebSocket connection (RFC 6455 §5.5, §7), gluing a
// reader and a writer to the closing handshake. Bytes received go in through Receive, which
// returns one event and writes any automatic reply (pong, close echo, close on violation) to the
// output buffer given; messages go out through the Send methods, which write frames to it.
//
// State machine (Open < CloseSent < Closed, so checks read "State >= CloseSent"):
//   Open       both directions open                      -> CloseSent (we sent Close)
//                                                        -> Closed (peer's Close arrived: we echo it;
//                                                           or the peer broke the protocol: we send
//                                                           Close with the violation's code)
//   CloseSent  waiting for the peer's Close; data received is still reported, nothing more is sent
//                                                        -> Closed (peer's Close arrived)
//   Closed     the closing handshake is over; input is discarded, sends are refused.
//
// Who closes TCP (§7.1.1): the server, as soon as Closed; the client waits for the server to
// close, with a timeout of its choosing (that timer lives in the connection, not here). After a
// violation either side closes at once (§7.1.7). ShouldCloseTransport says which applies.
// Pings are answered automatically while Open; the Ping event is still reported.
using System.Buffers;
using System.Text;

namespace Meerkat.WebSockets;

/// <summary>The life of a WebSocket endpoint, ordered: Open &lt; CloseSent &lt; Closed.</summary>
public enum WebSocketProtocolState
{
    /// <summary>Messages flow both ways.</summary>
    Open,

    /// <summary>We sent Close and await the peer's; incoming messages are still reported.</summary>
    CloseSent,

    /// <summary>The closing handshake is over (or the connection failed); close the transport per <see cref="WebSocketProtocol.ShouldCloseTransport"/>.</summary>
    Closed,
}

/// <summary>
/// A sans-I/O WebSocket endpoint: frames in, events out; messages in, bytes out. One per
/// connection, used from one thread (the loop thread).
/// </summary>
internal sealed class WebSocketProtocol : IDisposable
{
    private readonly WebSocketFrameReader _reader;
    private readonly WebSocketFrameWriter _writer;
    private readonly WebSocketMessageAssembler? _assembler;
    private bool _isAssembledMessagePending;
    private bool _hasFailed;

    /// <summary>Creates an endpoint, after a successful opening handshake.</summary>
    /// <param name="role">Client or server.</param>
    /// <param name="options">Limits and message mode; null for the defaults.</param>
    /// <param name="deflate">The permessage-deflate agreement from the handshake, or null.</param>
    public WebSocketProtocol(WebSocketRole role, WebSocketOptions? options = null, PerMessageDeflateParameters? deflate = null)
    {
        options ??= new WebSocketOptions();
        Role = role;
        _reader = new WebSocketFrameReader(role, options, deflate);
        _writer = new WebSocketFrameWriter(role, deflate);
        _assembler = options.IsWholeMessageMode ? new WebSocketMessageAssembler() : null;
    }

    /// <summary>Client or server; never changes.</summary>
    public WebSocketRole Role { get; }

    /// <summary>Where the closing handshake stands.</summary>
    public WebSocketProtocolState State { get; private set; }

    /// <summary>
    /// True when this side should close the transport now: a server once <see cref="WebSocketProtocolState.Closed"/>,
    /// either side after a protocol violation. A client otherwise waits for the server to close.
    /// </summary>
    public bool ShouldCloseTransport => State == WebSocketProtocolState.Closed && (Role == WebSocketRole.Server || _hasFailed);

    /// <summary>
    /// Consumes received bytes and returns the next event; call again with the rest until
    /// <see cref="WebSocketEventKind.NeedMoreData"/>. Automatic replies (pong, close echo, the
    /// close for a violation) are written to <paramref name="output"/> before the event is returned.
    /// The event's payload is valid until the next call.
    /// </summary>
    public WebSocketEvent Receive(ReadOnlySpan<byte> input, out int consumed, IBufferWriter<byte> output)
    {
        if (_isAssembledMessagePending)
        {
            _assembler!.Reset();
            _isAssembledMessagePending = false;
        }

        if (_hasFailed)
        {
            // After a violation the stream is dead: its violation event was returned once; what
            // follows is discarded, so a caller looping until NeedMoreData always terminates.
            consumed = input.Length;
            return WebSocketEvent.NeedMoreData;
        }

        consumed = 0;
        while (true)
        {
            WebSocketEvent next = _reader.Read(input[consumed..], out int used);
            consumed += used;
            switch (next.Kind)
            {
                case WebSocketEventKind.MessageData when _assembler is not null:
                    _assembler.Append(next.Payload);
                    continue;
                case WebSocketEventKind.MessageEnd when _assembler is not null:
                    _isAssembledMessagePending = true;
                    return WebSocketEvent.Data(WebSocketEventKind.Message, next.MessageKind, _assembler.Message);
                case WebSocketEventKind.Ping when State == WebSocketProtocolState.Open:
                    _writer.WritePong(next.Payload, output);
                    return next;
                case WebSocketEventKind.Close:
                    OnClose(next.CloseCode, next.Payload, output);
                    return next;
                case WebSocketEventKind.ProtocolViolation:
                    OnViolation(next.CloseCode, next.Reason!, output);
                    return next;
                default:
                    return next;
            }
        }
    }

    /// <summary>Sends a whole binary or text message (compressed when negotiated).</summary>
    /// <exception cref="InvalidOperationException">Close was already sent, or a fragmented message is open.</exception>
    /// <exception cref="ArgumentException">A text payload is not valid UTF-8.</exception>
    public void SendMessage(WebSocketMessageKind kind, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        ThrowIfCloseSent();
        _writer.WriteMessage(kind, payload, output);
    }

    /// <summary>Sends a whole text message.</summary>
    /// <exception cref="InvalidOperationException">Close was already sent.</exception>
    public void SendText(ReadOnlySpan<char> text, IBufferWriter<byte> output)
    {
        ThrowIfCloseSent();
        _writer.WriteText(text, output);
    }

    /// <summary>Sends one piece of a fragmented message (see <see cref="WebSocketFrameWriter.WriteFragment"/>).</summary>
    /// <exception cref="InvalidOperationException">Close was already sent.</exception>
    public void SendFragment(WebSocketMessageKind kind, ReadOnlySpan<byte> payload, bool isEndOfMessage, IBufferWriter<byte> output)
    {
        ThrowIfCloseSent();
        _writer.WriteFragment(kind, payload, isEndOfMessage, output);
    }

    /// <summary>Sends a Ping (at most 125 bytes).</summary>
    /// <exception cref="InvalidOperationException">Close was already sent.</exception>
    public void SendPing(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        ThrowIfCloseSent();
        _writer.WritePing(payload, output);
    }

    /// <summary>Sends an unsolicited Pong (a heartbeat, RFC 6455 §5.5.3).</summary>
    /// <exception cref="InvalidOperationException">Close was already sent.</exception>
    public void SendPong(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        ThrowIfCloseSent();
        _writer.WritePong(payload, output);
    }

    /// <summary>
    /// Starts the closing handshake (RFC 6455 §7.1.2). Idempotent: returns false, writing
    /// nothing, when Close was already sent.
    /// </summary>
    /// <exception cref="ArgumentException">The code may not be sent or the reason is too long.</exception>
    public bool SendClose(WebSocketCloseCode code, ReadOnlySpan<char> reason, IBufferWriter<byte> output)
    {
        if (State >= WebSocketProtocolState.CloseSent)
        {
            return false;
        }

        _writer.WriteClose(code, reason, output);
        State = WebSocketProtocolState.CloseSent;
        return true;
    }

    /// <summary>Releases the compressor and inflater, if any.</summary>
    public void Dispose()
    {
        _reader.Dispose();
        _writer.Dispose();
    }

    /// <summary>The peer's Close: echo its code (RFC 6455 §5.5.1) and its reason while Open, then Closed.</summary>
    private void OnClose(WebSocketCloseCode code, ReadOnlySpan<byte> reason, IBufferWriter<byte> output)
    {
        if (State == WebSocketProtocolState.Open)
        {
            _writer.WriteClose(code, reason.IsEmpty ? default : Encoding.UTF8.GetString(reason), output);
        }

        State = WebSocketProtocolState.Closed;
    }

    /// <summary>_Fail the WebSocket Connection_ (RFC 6455 §7.1.7): send Close if we can, then Closed.</summary>
    private void OnViolation(WebSocketCloseCode code, string reason, IBufferWriter<byte> output)
    {
        if (State == WebSocketProtocolState.Open)
        {
            _writer.WriteClose(code, reason.Length <= WebSocketFrameWriter.MaxCloseReasonLength ? reason : reason[..WebSocketFrameWriter.MaxCloseReasonLength], output);
        }

        _hasFailed = true;
        State = WebSocketProtocolState.Closed;
    }

    private void ThrowIfCloseSent()
    {
        if (State >= WebSocketProtocolState.CloseSent)
        {
            throw new InvalidOperationException("No data may be sent after the Close frame (RFC 6455 §5.5.1).");
        }
    }
}
