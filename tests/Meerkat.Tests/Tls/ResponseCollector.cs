using System.Text;
using Meerkat.Http;
using Meerkat.Tests.Core;
using Meerkat.Tls;

namespace Meerkat.Tests.Tls;

/// <summary>A raw client handler: sends a request once the handshake completes and parses the
/// response with <see cref="HttpMessageReader"/>, keeping the body and whether it was complete.</summary>
internal sealed class ResponseCollector
{
    private readonly byte[] request;
    private readonly HttpMessageReader reader = new(isRequest: false);
    private readonly MemoryStream body = new();

    public ResponseCollector(string request, EventLog? log = null)
    {
        this.request = Encoding.ASCII.GetBytes(request);
        Log = log ?? new EventLog();
        Log.Next = OnEvent;
    }

    public EventLog Log { get; }

    public int Status { get; private set; }

    public byte[] Body => body.ToArray();

    public bool IsComplete { get; private set; }

    /// <summary>The reader's verdict when the message ended early.</summary>
    public HttpError? ParseError { get; private set; }

    public bool IsClosed { get; private set; }

    public TlsSessionInfo? Session { get; private set; }

    public ConnectionHandler Handler => Log.Handler;

    /// <summary>This connection's events, Poll left out.</summary>
    public List<EventKind> Kinds { get; } = [];

    private void OnEvent(Connection c, Event e)
    {
        if (e.Kind != EventKind.Poll) Kinds.Add(e.Kind);
        switch (e.Kind)
        {
            case EventKind.TlsHandshake:
                Session = c.TlsSession;
                c.Send(request);
                break;
            case EventKind.Read:
                Parse(c, endOfStream: false);
                break;
            case EventKind.Close:
                if (!IsComplete && ParseError is null) Parse(c, endOfStream: true);
                IsClosed = true;
                break;
        }
    }

    private void Parse(Connection c, bool endOfStream)
    {
        while (!IsComplete)
        {
            var result = reader.Read(c.ReceivedMemory, endOfStream, out int consumed);
            switch (result)
            {
                case HttpReadResult.Head:
                    Status = reader.Head.StatusCode;
                    break;
                case HttpReadResult.Body:
                    body.Write(reader.Body.Span);
                    break;
                case HttpReadResult.MessageEnd:
                    IsComplete = true;
                    break;
                case HttpReadResult.Error:
                    ParseError = reader.Error;
                    return;
                case HttpReadResult.NeedMoreData:
                    c.Consume(consumed);
                    return;
            }
            c.Consume(consumed);
        }
    }
}
