using Meerkat.Http;
using Meerkat.Http2;

namespace Meerkat.Tests.Http2;

/// <summary>Answers every request with its own body, as it is written, under flow control, and
/// with the request's "x-" fields repeated in the response head.</summary>
internal sealed class EchoServer(Endpoint server)
{
    private readonly Dictionary<int, MemoryStream> _received = [];
    private readonly Dictionary<int, List<(string Name, string Value)>> _echoed = [];
    private readonly Dictionary<int, (byte[] Body, int Sent)> _sending = [];

    public Dictionary<int, List<HttpOutcome>> Closes { get; } = [];

    public int MaxConcurrent { get; private set; }

    public void Handle(Recorded e)
    {
        switch (e.Kind)
        {
            case Http2EventKind.Headers:
                _received[e.StreamId] = new MemoryStream();
                _echoed[e.StreamId] = e.Fields.Where(f => f.Name.StartsWith("x-", StringComparison.Ordinal)).ToList();
                MaxConcurrent = Math.Max(MaxConcurrent, server.Connection.ActiveStreamCount);
                if (e.IsEndStream) Respond(e.StreamId);
                break;
            case Http2EventKind.Data:
                _received[e.StreamId].Write(e.Data);
                if (e.IsEndStream) Respond(e.StreamId);
                break;
            case Http2EventKind.Trailers:
                Respond(e.StreamId);
                break;
            case Http2EventKind.StreamWritable:
                Send(e.StreamId);
                break;
            case Http2EventKind.StreamClosed:
                (Closes.TryGetValue(e.StreamId, out List<HttpOutcome>? list) ? list : Closes[e.StreamId] = []).Add(e.Outcome);
                break;
        }
    }

    private void Respond(int id)
    {
        byte[] body = _received[id].ToArray();
        var fields = new Http2HeaderList().AddStatus(200).Add("content-length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Add("x-stream", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach ((string name, string value) in _echoed[id]) fields.Add(name, value);
        Assert.True(server.Connection.SendHeaders(id, fields, endStream: body.Length == 0));
        if (body.Length == 0) return;
        _sending[id] = (body, 0);
        Send(id);
    }

    private void Send(int id)
    {
        if (!_sending.TryGetValue(id, out (byte[] Body, int Sent) item)) return;
        Assert.True(server.Connection.TrySendData(id, item.Body.AsSpan(item.Sent), endStream: true, server.Now, out int written));
        if (item.Sent + written == item.Body.Length) _sending.Remove(id);
        else _sending[id] = (item.Body, item.Sent + written);
    }
}

/// <summary>Sends the requests as fast as the server's concurrency allows, bodies under flow control, some with trailers.</summary>
internal sealed class TestClient(Endpoint client, byte[][] bodies)
{
    private readonly Dictionary<int, int> _requestOf = [];
    private readonly Dictionary<int, (byte[] Body, int Sent)> _sending = [];
    private readonly Queue<int> _toSend = new(Enumerable.Range(0, bodies.Length));

    public Dictionary<int, MemoryStream> Responses { get; } = [];

    public Dictionary<int, List<HttpOutcome>> Closes { get; } = [];

    public int WritableEvents { get; private set; }

    public int Refused { get; private set; }

    public bool IsDone => Closes.Count == bodies.Length;

    public void Step()
    {
        while (_toSend.Count > 0 && client.Connection.CanOpenStream)
        {
            int index = _toSend.Dequeue();
            byte[] body = bodies[index];
            var fields = new Http2HeaderList().Add(":method", body.Length == 0 ? "GET" : "POST").Add(":scheme", "http").Add(":authority", "localhost")
                .Add(":path", "/echo/" + index).Add("x-index", index.ToString(System.Globalization.CultureInfo.InvariantCulture)).Add("user-agent", "pair-test");
            int id = client.Connection.OpenStream(fields, endStream: body.Length == 0);
            _requestOf[id] = index;
            Responses[index] = new MemoryStream();
            if (body.Length == 0) continue;
            _sending[id] = (body, 0);
            Send(id);
        }
    }

    public void Handle(Recorded e)
    {
        if (e.StreamId != 0 && !_requestOf.ContainsKey(e.StreamId)) return; // a stream some other code opened
        switch (e.Kind)
        {
            case Http2EventKind.Headers:
                Assert.StartsWith("200 ", e.Head, StringComparison.Ordinal);
                break;
            case Http2EventKind.Data:
                Responses[_requestOf[e.StreamId]].Write(e.Data);
                break;
            case Http2EventKind.StreamWritable:
                WritableEvents++;
                Send(e.StreamId);
                break;
            case Http2EventKind.StreamClosed when e.IsRefused:
                _sending.Remove(e.StreamId);
                _toSend.Enqueue(_requestOf[e.StreamId]); // not processed by the server: safe to send again
                Refused++;
                Step();
                break;
            case Http2EventKind.StreamClosed:
                int index = _requestOf[e.StreamId];
                (Closes.TryGetValue(index, out List<HttpOutcome>? list) ? list : Closes[index] = []).Add(e.Outcome);
                Step();
                break;
        }
    }

    private void Send(int id)
    {
        if (!_sending.TryGetValue(id, out (byte[] Body, int Sent) item)) return;
        bool withTrailers = _requestOf[id] % 3 == 0;
        if (!client.Connection.TrySendData(id, item.Body.AsSpan(item.Sent), endStream: !withTrailers, client.Now, out int written)) return; // refused meanwhile
        if (item.Sent + written < item.Body.Length)
        {
            _sending[id] = (item.Body, item.Sent + written);
            return;
        }

        _sending.Remove(id);
        if (withTrailers) Assert.True(client.Connection.SendHeaders(id, new Http2HeaderList().Add("x-length", item.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)), endStream: true));
    }
}
