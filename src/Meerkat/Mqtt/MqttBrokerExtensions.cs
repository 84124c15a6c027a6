// How this file works: the broker's transports. mqtt:// and mqtts:// listeners put a small
// Protocol on each accepted connection that feeds received bytes (plaintext, under TLS) to the
// broker and lets it write packets straight into the send buffer. ws:// and wss:// listeners are
// HTTP listeners that upgrade requests for the given path to WebSocket with the "mqtt"
// subprotocol; MQTT packets then travel in binary messages, a packet may span messages, and each
// batch of packets the broker writes goes out as one message. One repeating timer per broker, on
// the one manager all its listeners share, runs its keep-alive and expiry checks.
using System.Buffers;
using System.Net;
using System.Text;
using Meerkat.Http;
using Meerkat.Tls;
using Meerkat.WebSockets;

namespace Meerkat.Mqtt;

/// <summary>Listening for MQTT clients: <c>manager.ListenMqtt("mqtt://127.0.0.1:1883", broker)</c>.</summary>
public static class MqttBrokerExtensions
{
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(250);

    extension(Manager manager)
    {
        /// <summary>
        /// Listens for MQTT clients of <paramref name="broker"/> on <c>mqtt://host:port</c> (default port 1883),
        /// <c>mqtts://host:port</c> (8883, with <paramref name="tls"/>), <c>ws://host:port/path</c> (80) or
        /// <c>wss://host:port/path</c> (443, with <paramref name="tls"/>); port 0 picks a free one
        /// (read it from the listener's <see cref="Connection.LocalEndPoint"/>). The broker's connections
        /// raise no events to the application; use the broker's callbacks and hooks.
        /// </summary>
        /// <remarks>A broker serves one manager: all its listeners must be on the manager of its first
        /// (see <see cref="MqttBroker"/>).</remarks>
        /// <exception cref="ArgumentException">The URL's scheme is not one of those, or TLS options are missing.</exception>
        /// <exception cref="InvalidOperationException">The broker already listens on another manager.</exception>
        public Connection ListenMqtt(string url, MqttBroker broker, TlsServerOptions? tls = null, ListenOptions? listenOptions = null)
        {
            ArgumentNullException.ThrowIfNull(url);
            ArgumentNullException.ThrowIfNull(broker);
            // The broker's sessions, trie and retained messages are touched without locks, and routing a
            // message writes into the send buffers of the subscribers' connections, which only their loop
            // thread may touch: every connection of a broker must live on one loop, and so does its ticker.
            if (broker.Manager is { } bound && bound != manager)
                throw new InvalidOperationException("this MqttBroker already listens on another manager: a broker serves the connections of one manager (one loop thread); "
                    + "listen on that manager, or give the other manager its own broker");
            string scheme = url.Split("://")[0].ToLowerInvariant();
            int defaultPort = scheme switch { "mqtt" => 1883, "mqtts" => 8883, "ws" => 80, "wss" => 443, _ => -1 };
            if (defaultPort < 0) throw new ArgumentException($"ListenMqtt takes mqtt://, mqtts://, ws:// or wss:// URLs, not '{url}'", nameof(url));
            if (scheme is "mqtts" or "wss" && tls is null) throw new ArgumentException($"a {scheme}:// listener needs TLS options (a certificate)", nameof(tls));
            var address = NetworkAddress.Parse(url, defaultPort);
            var tcp = new NetworkAddress("tcp", address.Host, address.Port);
            Connection listener = scheme switch
            {
                "mqtt" => manager.Listen(tcp, datagram: false, null, listenOptions, c => new MqttBrokerStreamProtocol(broker)),
                "mqtts" => manager.ListenTls(tcp, null, tls!, listenOptions, c => new MqttBrokerStreamProtocol(broker), []),
                _ => ListenWebSocket(manager, url, address, broker, tls, listenOptions),
            };
            // One ticker per broker, on its manager: keep-alive, CONNECT deadlines, expiry; it stops with the
            // last listener (a later listener starts a new one).
            broker.Manager = manager;
            broker.Listeners.Add(listener);
            if (broker.Listeners.Count == 1)
            {
                manager.AddTimer(TickPeriod, TickPeriod, timer =>
                {
                    broker.Listeners.RemoveAll(l => l.State >= ConnectionState.Closing);
                    if (broker.Listeners.Count == 0) timer.Cancel();
                    else broker.Tick();
                });
            }
            return listener;
        }
    }

    private static Connection ListenWebSocket(Manager manager, string url, NetworkAddress address, MqttBroker broker, TlsServerOptions? tls, ListenOptions? listenOptions)
    {
        int pathStart = url.IndexOf('/', url.IndexOf("://", StringComparison.Ordinal) + 3);
        byte[] path = Encoding.UTF8.GetBytes(pathStart < 0 ? "/" : url[pathStart..]);
        var wsOptions = new WebSocketServerOptions
        {
            Subprotocols = ["mqtt"],
            Handler = (c, e) => OnWebSocketEvent(c, e, broker),
            MaxMessageSize = broker.Options.MaximumPacketSize + 5L,
        };
        string host = address.Host.Contains(':') ? $"[{address.Host}]" : address.Host;
        string httpUrl = $"{(tls is null ? "http" : "https")}://{host}:{address.Port}";
        return manager.ListenHttp(httpUrl, (c, e) =>
        {
            if (e.Kind != EventKind.HttpHeaders) return;
            if (!e.Request!.PathIs(path)) c.Reply(404, "no MQTT endpoint here\n");
            else c.UpgradeToWebSocket(wsOptions);
        }, new HttpServerOptions { Tls = tls, EnableHttp2 = false }, listenOptions); // a WebSocket endpoint: HTTP/1.1 only
    }

    private static void OnWebSocketEvent(Connection connection, Event e, MqttBroker broker)
    {
        switch (e.Kind)
        {
            case EventKind.WsOpen:
                var link = new MqttBrokerWebSocketLink(connection);
                connection.Tag = broker.Accept(link);
                break;
            case EventKind.WsMessage when connection.Tag is MqttBrokerConnection client:
                broker.Receive(client, e.Data.ToArray());
                break;
            case EventKind.Close when connection.Tag is MqttBrokerConnection client:
                connection.Tag = null;
                broker.Closed(client);
                break;
        }
    }

    /// <summary>TCP and TLS: the broker reads the receive buffer and writes into the send buffer.</summary>
    private sealed class MqttBrokerStreamProtocol(MqttBroker broker) : Protocol, IMqttLink
    {
        private Connection? connection;
        private MqttBrokerConnection? client;

        public IBufferWriter<byte> Output => connection!.SendWriter;

        public bool NeedsFlush => false;

        public bool IsWritable => connection!.IsWritable;

        public IPEndPoint? RemoteEndPoint => connection?.RemoteEndPoint;

        public void Flush() { }

        public void Close() => connection!.CloseAfterDrain();

        public override void OnEvent(Connection c, Event e)
        {
            switch (e.Kind)
            {
                case EventKind.Open:
                    connection = c;
                    client = broker.Accept(this);
                    break;
                case EventKind.Read when client is not null:
                    var received = c.ReceivedMemory;
                    int length = received.Length;
                    broker.Receive(client, received);
                    if (c.State < ConnectionState.Closing) c.Consume(length);
                    // Partial packets live in the frame reader: an idle client holds no 16 KiB buffers.
                    c.ReleaseIdleBuffers();
                    break;
                case EventKind.Write:
                    c.ReleaseIdleBuffers();
                    break;
                case EventKind.Close when client is not null:
                    var closing = client;
                    client = null;
                    broker.Closed(closing);
                    break;
            }
        }
    }

    /// <summary>WebSocket: packets are gathered and sent as one binary message per flush.</summary>
    private sealed class MqttBrokerWebSocketLink(Connection connection) : IMqttLink
    {
        private readonly ArrayBufferWriter<byte> output = new(256);

        public IBufferWriter<byte> Output => output;

        public bool NeedsFlush => true;

        public bool IsWritable => connection.IsWritable;

        public IPEndPoint? RemoteEndPoint => connection.RemoteEndPoint;

        public void Flush()
        {
            if (output.WrittenCount == 0) return;
            connection.SendBinary(output.WrittenSpan);
            output.ResetWrittenCount();
        }

        public void Close()
        {
            Flush();
            if (!connection.CloseWebSocket()) connection.CloseAfterDrain();
        }
    }
}
