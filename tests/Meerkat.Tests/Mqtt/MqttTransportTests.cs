using Meerkat.Mqtt;
using Meerkat.Tests.Core;
using Meerkat.Tests.Tls;
using Meerkat.Tls;

namespace Meerkat.Tests.Mqtt;

/// <summary>MQTT over TCP, TLS, WebSocket and WebSocket over TLS, between Meerkat's own client and
/// broker and with mosquitto and paho-mqtt.</summary>
public sealed class MqttTransportTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-mqtt-tls-").FullName;

    public void Dispose()
    {
        manager.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private static TlsServerOptions ServerTls => new() { Certificate = TestCertificates.Localhost };

    private static TlsClientOptions ClientTls => new() { TrustedRoots = TestCertificates.Roots };

    public static TheoryData<string, MqttProtocolVersion> Transports()
    {
        var data = new TheoryData<string, MqttProtocolVersion>();
        foreach (var scheme in new[] { "mqtt", "mqtts", "ws", "wss" })
            foreach (var version in MqttTestKit.Versions) data.Add(scheme, version);
        return data;
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Meerkat_client_and_broker_talk_over_every_transport(string scheme, MqttProtocolVersion version)
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, null, scheme, scheme is "mqtts" or "wss" ? ServerTls : null);
        string url = $"{scheme}://127.0.0.1:{port}{(scheme.StartsWith("ws", StringComparison.Ordinal) ? "/mqtt" : "")}";
        var client = new RecordingClient(manager, new MqttClientOptions { Url = url, ProtocolVersion = version, ClientId = "t", Tls = ClientTls });
        manager.Until(() => client.IsConnected, what: $"CONNACK over {scheme}");
        client.Session.Subscribe("echo/#", MqttQualityOfService.ExactlyOnce);
        manager.Until(() => client.Acks.Count == 1, what: "SUBACK");
        var big = new string('x', 70_000); // spans TLS records and several reads
        client.Session.Publish("echo/big", MqttTestKit.Bytes(big), MqttQualityOfService.AtLeastOnce);
        client.Session.Publish("echo/small", MqttTestKit.Bytes("hi"), MqttQualityOfService.ExactlyOnce);
        manager.Until(() => client.Messages.Count == 2 && client.Done.Count == 2, what: "both messages back");
        Assert.Equal(big, client.Messages.Single(m => m.Topic == "echo/big").Payload);
        Assert.All(client.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
        client.Session.Disconnect();
        manager.Until(() => client.Session.IsEnded, what: "the session to end");
        Assert.Empty(client.Errors);
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public void Mosquitto_clients_talk_to_the_meerkat_broker_over_tls(string version)
    {
        string sub = MqttTestKit.RequireProgram("mosquitto_sub");
        string pub = MqttTestKit.RequireProgram("mosquitto_pub");
        string ca = Path.Combine(directory, "ca.pem");
        File.WriteAllText(ca, TestCertificates.Ca.ExportCertificatePem());
        var (broker, _, port) = MqttTestKit.StartBroker(manager, null, "mqtts", ServerTls);
        string[] common = ["-h", "localhost", "-p", $"{port}", "-V", version, "--cafile", ca];
        var subscriber = MosquittoInteropTests.Run(sub, [.. common, "-t", "s/#", "-q", "1", "-C", "1"]);
        manager.Until(() => broker.SubscriptionCount == 1, what: "mosquitto_sub's subscription over TLS");
        manager.Until(MosquittoInteropTests.Run(pub, [.. common, "-t", "s/x", "-m", "secure", "-q", "1"]));
        Assert.Equal("secure\n", manager.Until(subscriber));
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void Meerkat_client_talks_to_mosquitto_over_tls_and_websockets(MqttProtocolVersion version)
    {
        var (cert, key) = TestCertificates.WritePem(TestCertificates.Localhost, Path.Combine(directory, "server"));
        int tlsPort = MqttTestKit.FreePort(), wsPort = MqttTestKit.FreePort();
        MqttTestKit.MakeReadable(directory);
        MqttTestKit.MakeReadable(Path.Combine(directory, "server"));
        using var mosquitto = new Mosquitto($"listener {tlsPort} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\nlistener {wsPort} 127.0.0.1\nprotocol websockets\n", tlsPort, wsPort);
        foreach (var url in new[] { $"mqtts://localhost:{tlsPort}", $"ws://127.0.0.1:{wsPort}/mqtt" })
        {
            var client = new RecordingClient(manager, new MqttClientOptions { Url = url, ProtocolVersion = version, ClientId = "m" + url.Length, Tls = ClientTls });
            manager.Until(() => client.IsConnected || client.Session.IsEnded || client.Errors.Count > 0, what: $"CONNACK from mosquitto at {url}");
            Assert.True(client.IsConnected, $"{url}: {string.Join("; ", client.Errors.Select(e => e.Message))} {mosquitto.Log}");
            client.Session.Subscribe("m/#", MqttQualityOfService.AtLeastOnce);
            client.Session.Publish("m/x", MqttTestKit.Bytes(url), MqttQualityOfService.AtLeastOnce);
            manager.Until(() => client.Messages.Count == 1, what: $"the message back over {url}");
            Assert.Equal(url, client.Messages[0].Payload);
            client.Session.Disconnect();
            manager.Until(() => client.Session.IsEnded, what: "the session to end");
        }
    }

    [Fact]
    public void Paho_talks_to_the_meerkat_broker_over_websockets()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, null, "ws");
        const string script = """
            import sys, time
            import paho.mqtt.client as mqtt
            got = []
            c = mqtt.Client(client_id="paho-ws", transport="websockets")
            c.ws_set_options(path="/mqtt")
            c.on_message = lambda c, u, m: got.append(m.payload.decode())
            c.connect("127.0.0.1", int(sys.argv[1]), keepalive=10)
            c.loop_start()
            c.subscribe("w/#", qos=1)
            time.sleep(0.2)
            c.publish("w/x", "over websocket", qos=1).wait_for_publish(20)
            deadline = time.time() + 20
            while not got and time.time() < deadline: time.sleep(0.01)
            c.disconnect()
            c.loop_stop()
            print(got[0] if got else "nothing")
            """;
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : Peers.Find("python3") ?? "python3";
        string output;
        try
        {
            output = manager.Until(MosquittoInteropTests.Run(python, "-c", script, $"{port}"));
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("No module named 'paho'", StringComparison.Ordinal))
        {
            Peers.SkipOrFail("python3 with paho-mqtt (python3-paho-mqtt)");
            return;
        }
        Assert.Equal("over websocket\n", output);
    }
}
