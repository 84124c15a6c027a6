using Meerkat.Http;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Http.Routing;

/// <summary>A manager listening with a router on a free loopback port, driven from the test thread.</summary>
internal sealed class RoutedServer : IDisposable
{
    public RoutedServer(Router router, HttpServerOptions? options = null, PollerBackend backend = PollerBackend.Auto, ConnectionHandler? around = null,
        Action<ManagerOptions>? configure = null)
    {
        Manager = Loop.Create(backend, configure);
        Log = new EventLog { Next = around is null ? router.Handle : (c, e) => around(c, e) };
        var listener = Manager.ListenHttp("http://127.0.0.1:0", Log.Handler, options);
        Port = listener.LocalEndPoint!.Port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };
    }

    public Manager Manager { get; }

    public EventLog Log { get; }

    public int Port { get; }

    public HttpClient Client { get; }

    public HttpResponseMessage Send(HttpRequestMessage request) => Manager.Until(Client.SendAsync(request));

    public HttpResponseMessage Send(HttpMethod method, string path, HttpContent? content = null) =>
        Send(new HttpRequestMessage(method, path) { Content = content });

    public HttpResponseMessage Get(string path) => Send(HttpMethod.Get, path);

    public string Text(HttpResponseMessage response) => Manager.Until(response.Content.ReadAsStringAsync());

    /// <summary>Sends raw request bytes on a new connection and reads until the server closes.</summary>
    public string Raw(params string[] pieces) => Manager.Until(Server.RawClient.ExchangeAsync(Port, pieces));

    public void Dispose()
    {
        Client.Dispose();
        Manager.Dispose();
    }
}
