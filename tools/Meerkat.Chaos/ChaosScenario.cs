// One chaos seed: an HTTP server (immediate and deferred responses, a WebSocket echo) and clients
// (pipelined HTTP requests, a WebSocket, a raw connection pipelining past a Connection: close) on a
// virtual network whose every connection gets faults drawn from the seed. It checks the invariants
// a user relies on and returns what broke; the same seed replays the same trace. With TLS, the HTTP
// clients talk HTTPS (an RSA certificate: every handshake message has a fixed size, docs/testing.md).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Client;
using Meerkat.Testing;
using Meerkat.Tls;
using Meerkat.WebSockets;

namespace Meerkat.Chaos;

/// <summary>The outcome of one seed.</summary>
/// <param name="Seed">The seed.</param>
/// <param name="Failures">Broken invariants, one line each; empty when the seed passed.</param>
/// <param name="Digest">SHA-256 of the seed's full event trace.</param>
/// <param name="Events">Events raised on the managers.</param>
/// <param name="Trace">The trace lines, when asked for.</param>
public sealed record ChaosResult(int Seed, IReadOnlyList<string> Failures, string Digest, long Events, IReadOnlyList<string> Trace);

/// <summary>Runs one seed of the chaos scenario.</summary>
public static class ChaosScenario
{
    private static readonly TimeSpan VirtualLimit = TimeSpan.FromMinutes(10);

    /// <summary>The bytes the server sends for a body of <paramref name="size"/>: checkable at the client.</summary>
    public static byte[] Payload(int size)
    {
        var data = new byte[size];
        for (int i = 0; i < size; i++) data[i] = (byte)(i * 31 + size);
        return data;
    }

    /// <summary>The server's certificate for <c>--tls</c>: self-signed RSA, made once per process. Its key
    /// differs between processes, its size does not (RSA signatures are as long as the modulus; an
    /// ECDSA signature's DER encoding varies by a byte or two, and so would the trace).</summary>
    public static X509Certificate2 Certificate => LazyCertificate.Value;

    private static readonly Lazy<X509Certificate2> LazyCertificate = new(() =>
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=server.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("server.test");
        request.CertificateExtensions.Add(names.Build());
        // A fixed serial: CreateSelfSigned draws a random one, whose DER encoding is 8 or 9 bytes long.
        byte[] serial = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        using var made = request.Create(request.SubjectName, X509SignatureGenerator.CreateForRSA(key, RSASignaturePadding.Pkcs1),
            new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2049, 1, 1, 0, 0, 0, TimeSpan.Zero), serial);
        using var withKey = made.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
    });

    /// <summary>Runs seed <paramref name="seed"/>; <paramref name="keepTrace"/> keeps the trace lines;
    /// <paramref name="tls"/> makes the HTTP clients talk HTTPS.</summary>
    public static ChaosResult Run(int seed, bool keepTrace = false, bool tls = false)
    {
        var failures = new List<string>();
        var network = new VirtualNetwork(seed) { RandomFaults = true, KeepTrace = keepTrace };
        var state = new SeedRun(network, new Random(seed), failures, tls);
        try
        {
            state.Start();
            if (!network.RunUntil(state.Finished, VirtualLimit))
                failures.Add($"did not finish within {VirtualLimit.TotalMinutes} virtual minutes: {state.Pending()}");
            state.CloseClients();
            network.RunFor(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex)
        {
            failures.Add($"threw {ex.GetType().Name}: {ex.Message}");
        }
        try
        {
            network.Dispose();
        }
        catch (Exception ex)
        {
            failures.Add($"dispose threw {ex.GetType().Name}: {ex.Message}");
        }
        state.CheckLifecycles();
        return new ChaosResult(seed, failures, network.TraceDigest(), network.EventCount, network.Trace.ToArray());
    }

    /// <summary>The state of one seed's run.</summary>
    private sealed class SeedRun(VirtualNetwork network, Random random, List<string> failures, bool tls)
    {
        private readonly Dictionary<long, (int Opens, int Closes, string Who)> lifecycles = [];
        private readonly Dictionary<long, ServerConnection> serverConnections = [];
        private readonly List<ClientConnection> clients = [];
        private Manager server = null!;
        private Manager client = null!;

        public void Start()
        {
            server = network.CreateManager("server.test", new ManagerOptions { CheckInvariants = true });
            client = network.CreateManager("client.test", new ManagerOptions { CheckInvariants = true });
            server.ListenHttp("http://server.test:80", OnServerEvent, new HttpServerOptions { TimeProvider = network.Clock });
            if (tls)
                server.ListenHttp("https://server.test:443", OnServerEvent,
                    new HttpServerOptions { TimeProvider = network.Clock, Tls = new TlsServerOptions { Certificate = Certificate } });
            int httpConnections = random.Next(1, 4);
            for (int i = 0; i < httpConnections; i++) StartHttpClient();
            if (random.Next(2) == 0) StartWebSocket();
            if (random.Next(3) == 0) StartPipelinedPastClose();
        }

        public bool Finished() => clients.TrueForAll(c => c.Closed || c.Complete);

        public string Pending() => string.Join("; ", clients.Where(c => !c.Closed && !c.Complete).Select(c => c.Describe()));

        public void CloseClients()
        {
            foreach (var c in clients)
                if (!c.Closed) c.Connection.Close();
        }

        public void CheckLifecycles()
        {
            foreach (var (id, (opens, closes, who)) in lifecycles)
                if (opens != 1 || closes != 1) failures.Add($"lifecycle: {who} #{id} saw {opens} Open and {closes} Close");
            foreach (var c in clients) c.CheckAtEnd(failures);
            foreach (var s in serverConnections.Values)
                if (s.Headers != s.Done) failures.Add($"server transaction: {s.Headers} requests started, {s.Done} ended");
        }

        private void Count(Connection connection, Event e, string who)
        {
            if (e.Kind is not (EventKind.Open or EventKind.Close)) return;
            var entry = lifecycles.TryGetValue(connection.Id, out var known) ? known : (Opens: 0, Closes: 0, Who: who);
            lifecycles[connection.Id] = e.Kind == EventKind.Open ? entry with { Opens = entry.Opens + 1 } : entry with { Closes = entry.Closes + 1 };
        }

        // ------------------------------------------------------------ server

        private sealed class ServerConnection
        {
            public int Headers;
            public int Done;
            public bool CloseRequested;
        }

        private void OnServerEvent(Connection c, Event e)
        {
            Count(c, e, c.Role == ConnectionRole.Listener ? "listener" : "server connection");
            if (c.Role == ConnectionRole.Listener) return;
            if (!serverConnections.TryGetValue(c.Id, out var s))
            {
                s = new ServerConnection();
                serverConnections[c.Id] = s;
            }
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    if (s.CloseRequested) failures.Add($"server: a request was parsed after a Connection: close request on #{c.Id}");
                    s.Headers++;
                    if (!e.Request!.KeepAlive) s.CloseRequested = true;
                    if (e.Request!.PathIs("/ws"u8)) c.UpgradeToWebSocket();
                    break;
                case EventKind.HttpMessage:
                    Answer(c, e.Request!.PathString);
                    break;
                case EventKind.HttpDone:
                    s.Done++;
                    break;
                case EventKind.WsMessage:
                    c.SendMessage(e.WebSocket!.MessageKind, e.Data);
                    break;
            }
        }

        /// <summary>/n/SIZE answers at once; /defer/SIZE/MS answers from a timer MS later.</summary>
        private void Answer(Connection c, string path)
        {
            var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !int.TryParse(parts[1], out int size)) return;
            if (parts[0] == "defer" && parts.Length == 3 && int.TryParse(parts[2], out int ms))
            {
                server.AddTimer(TimeSpan.FromMilliseconds(ms), TimeSpan.Zero, _ =>
                {
                    if (c.State < ConnectionState.Draining && c.HasPendingRequest()) c.Reply(200, Payload(size), "application/octet-stream");
                });
                return;
            }
            c.Reply(200, Payload(size), "application/octet-stream");
        }

        // ------------------------------------------------------------ clients

        private abstract class ClientConnection
        {
            public Connection Connection = null!;
            public bool Closed;
            public abstract bool Complete { get; }
            public abstract string Describe();
            public virtual void CheckAtEnd(List<string> failures)
            {
            }
        }

        private sealed class HttpClientConnection : ClientConnection
        {
            public readonly List<int> Sizes = [];
            public readonly MemoryStream Body = new();
            public int Headers;
            public int Done;
            public int Completed;

            public override bool Complete => Done == Sizes.Count;

            public override string Describe() => $"http #{Connection.Id}: {Done}/{Sizes.Count} done";

            public override void CheckAtEnd(List<string> failures)
            {
                if (Headers != Done) failures.Add($"client transaction: {Headers} responses started, {Done} ended on #{Connection.Id}");
                if (Done > Sizes.Count) failures.Add($"client: {Done} transactions ended for {Sizes.Count} requests on #{Connection.Id}");
            }
        }

        private void StartHttpClient()
        {
            var record = new HttpClientConnection();
            record.Connection = tls
                ? client.ConnectHttp("https://server.test:443", (c, e) => OnHttpClientEvent(record, c, e),
                    new HttpClientConnectionOptions { Tls = new TlsClientOptions { TrustedRoots = [Certificate] } })
                : client.ConnectHttp("http://server.test:80", (c, e) => OnHttpClientEvent(record, c, e));
            int requests = random.Next(1, 5);
            for (int i = 0; i < requests; i++)
            {
                int size = random.Next(0, 20_000);
                string path = random.Next(3) == 0 ? $"/defer/{size}/{random.Next(0, 2_000)}" : $"/n/{size}";
                var request = new HttpClientRequest("GET", (tls ? "https://server.test" : "http://server.test") + path);
                bool last = i == requests - 1;
                if (last && random.Next(3) == 0) request.Headers.Add(new("Connection", "close"));
                if (!record.Connection.SendRequest(request)) break;
                record.Sizes.Add(size);
            }
            clients.Add(record);
        }

        private void OnHttpClientEvent(HttpClientConnection record, Connection c, Event e)
        {
            Count(c, e, "http client");
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    if (record.Headers != record.Done) failures.Add($"client: a response started before the previous one ended on #{c.Id}");
                    record.Headers++;
                    record.Body.SetLength(0);
                    break;
                case EventKind.HttpBody:
                    record.Body.Write(e.Data);
                    break;
                case EventKind.HttpDone:
                    if (record.Done >= record.Sizes.Count)
                    {
                        failures.Add($"client: HttpDone with no request outstanding on #{c.Id}");
                        break;
                    }
                    if (e.Outcome == HttpOutcome.Completed)
                    {
                        var expected = Payload(record.Sizes[record.Done]);
                        if (!record.Body.ToArray().AsSpan().SequenceEqual(expected))
                            failures.Add($"client: response {record.Done + 1} on #{c.Id} completed with {record.Body.Length} bytes, not the {expected.Length} sent");
                        record.Completed++;
                    }
                    record.Done++;
                    break;
                case EventKind.Close:
                    record.Closed = true;
                    break;
            }
        }

        private sealed class WebSocketConnection : ClientConnection
        {
            public readonly List<byte[]> Sent = [];
            public int Echoed;

            public override bool Complete => false;

            public override string Describe() => $"websocket #{Connection.Id}: {Echoed}/{Sent.Count} echoed";
        }

        private void StartWebSocket()
        {
            var record = new WebSocketConnection();
            int messages = random.Next(1, 6);
            for (int i = 0; i < messages; i++)
            {
                var message = new byte[random.Next(0, 3_000)];
                random.NextBytes(message);
                record.Sent.Add(message);
            }
            record.Connection = client.ConnectWebSocket("ws://server.test/ws", (c, e) =>
            {
                Count(c, e, "websocket client");
                switch (e.Kind)
                {
                    case EventKind.WsOpen:
                        foreach (var message in record.Sent) c.SendBinary(message);
                        break;
                    case EventKind.WsMessage:
                        if (record.Echoed >= record.Sent.Count || !e.Data.SequenceEqual(record.Sent[record.Echoed]))
                            failures.Add($"websocket: echo {record.Echoed + 1} on #{c.Id} is not message {record.Echoed + 1}");
                        if (++record.Echoed == record.Sent.Count) c.CloseWebSocket();
                        break;
                    case EventKind.Close:
                        record.Closed = true;
                        break;
                }
            });
            clients.Add(record);
        }

        private sealed class RawConnection : ClientConnection
        {
            public readonly MemoryStream Received = new();

            public override bool Complete => false;

            public override string Describe() => $"raw #{Connection.Id}: {Received.Length} bytes";

            public override void CheckAtEnd(List<string> failures)
            {
                string text = Encoding.ASCII.GetString(Received.ToArray());
                int responses = 0;
                for (int at = text.IndexOf("HTTP/1.1 ", StringComparison.Ordinal); at >= 0; at = text.IndexOf("HTTP/1.1 ", at + 1, StringComparison.Ordinal)) responses++;
                if (responses > 1) failures.Add($"raw: {responses} responses on #{Connection.Id} to a Connection: close request followed by another");
            }
        }

        private void StartPipelinedPastClose()
        {
            var record = new RawConnection();
            record.Connection = client.Connect("tcp://server.test:80", (c, e) =>
            {
                Count(c, e, "raw client");
                if (e.Kind == EventKind.Connect)
                    c.Send("GET /n/10 HTTP/1.1\r\nHost: server.test\r\nConnection: close\r\n\r\nGET /n/20 HTTP/1.1\r\nHost: server.test\r\n\r\n"u8);
                if (e.Kind == EventKind.Read) record.Received.Write(e.Data);
                if (e.Kind == EventKind.Close) record.Closed = true;
            });
            clients.Add(record);
        }
    }
}
