using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Testing;

namespace Meerkat.Tests.Testing;

/// <summary>A server and a client manager on one virtual network, with the invariant checker on.</summary>
internal sealed class VirtualHarness : IDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    public VirtualHarness(int seed = 1)
    {
        Network = new VirtualNetwork(seed);
        Server = Network.CreateManager("server.test", new ManagerOptions { CheckInvariants = true });
        Client = Network.CreateManager("client.test", new ManagerOptions { CheckInvariants = true });
        Origin = Client.Time;
    }

    /// <summary><see cref="Manager.Time"/> when the network was made.</summary>
    public TimeSpan Origin { get; }

    public VirtualNetwork Network { get; }

    public Manager Server { get; }

    public Manager Client { get; }

    public HttpServerOptions ServerOptions() => new() { TimeProvider = Network.Clock };

    /// <summary>An HTTP server on server.test:80 answering every request with <paramref name="body"/>.</summary>
    public Connection ServeBody(byte[] body, HttpServerOptions? options = null) =>
        Server.ListenHttp("http://server.test:80", (c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, body, "application/octet-stream");
        }, options ?? ServerOptions());

    /// <summary>Sends GET <paramref name="path"/> on a new client connection and records its response.</summary>
    public ClientRecord Get(string path, params (string Name, string Value)[] headers)
    {
        var record = new ClientRecord();
        var connection = Client.ConnectHttp("http://server.test:80", record.Handler);
        var request = new HttpClientRequest("GET", "http://server.test" + path);
        foreach (var (name, value) in headers) request.Headers.Add(new(name, value));
        Assert.True(connection.SendRequest(request));
        record.Connection = connection;
        return record;
    }

    public void RunUntil(Func<bool> condition, string what) =>
        Assert.True(Network.RunUntil(condition, Limit), $"virtual timeout waiting for {what}; trace tail:\n{string.Join('\n', Network.Trace.TakeLast(30))}");

    public void Dispose() => Network.Dispose();
}

/// <summary>What a client connection saw.</summary>
internal sealed class ClientRecord
{
    public Connection Connection { get; set; } = null!;
    public List<EventKind> Events { get; } = [];
    public MemoryStream Body { get; } = new();
    public int Status { get; private set; }
    public HttpOutcome? Outcome { get; private set; }
    public int Done { get; private set; }
    public Exception? Error { get; private set; }
    public TimeSpan? DoneAt { get; private set; }
    public bool Closed { get; private set; }
    public long BytesRead { get; private set; }

    public ConnectionHandler Handler => (c, e) =>
    {
        Events.Add(e.Kind);
        switch (e.Kind)
        {
            case EventKind.Read: BytesRead += e.Data.Length; break;
            case EventKind.HttpHeaders: Status = e.Response!.StatusCode; break;
            case EventKind.HttpBody: Body.Write(e.Data); break;
            case EventKind.HttpDone:
                Done++;
                Outcome = e.Outcome;
                DoneAt = c.Manager.Time;
                break;
            case EventKind.Error: Error = e.Error; break;
            case EventKind.Close: Closed = true; break;
        }
    };

    public string Text => Encoding.UTF8.GetString(Body.ToArray());
}
