#pragma warning disable CS0618 // MQTTnet's string user-property members are marked obsolete for speed; clarity wins in a test
using System.Net;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;
using MN = MQTTnet;
using MNP = MQTTnet.Protocol;
using MNS = MQTTnet.Server;

namespace Meerkat.Tests.Mqtt;

/// <summary>MQTTnet both ways: its client against Meerkat's broker, Meerkat's client against its server.</summary>
public sealed class MqttNetInteropTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    private static MN.Formatter.MqttProtocolVersion Their(MqttProtocolVersion version) =>
        version == MqttProtocolVersion.V500 ? MN.Formatter.MqttProtocolVersion.V500 : MN.Formatter.MqttProtocolVersion.V311;

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void MqttNet_client_round_trips_every_qos_through_the_meerkat_broker(MqttProtocolVersion version)
    {
        var (broker, _, port) = MqttTestKit.StartBroker(manager);
        var factory = new MN.MqttClientFactory();
        using var client = factory.CreateMqttClient();
        var received = new List<string>();
        var properties = new List<MN.Packets.MqttUserProperty>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            lock (received) received.Add($"{e.ApplicationMessage.Topic} {System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload))} {(int)e.ApplicationMessage.QualityOfServiceLevel}");
            if (e.ApplicationMessage.UserProperties is { } up) lock (properties) properties.AddRange(up);
            return Task.CompletedTask;
        };
        var options = new MN.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(Their(version)).WithClientId("mqttnet").Build();
        manager.Until(client.ConnectAsync(options));
        manager.Until(client.SubscribeAsync(factory.CreateSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic("n/#").WithQualityOfServiceLevel(MNP.MqttQualityOfServiceLevel.ExactlyOnce)).Build()));
        for (int qos = 0; qos < 3; qos++)
        {
            var builder = new MN.MqttApplicationMessageBuilder().WithTopic($"n/{qos}").WithPayload($"p{qos}").WithQualityOfServiceLevel((MNP.MqttQualityOfServiceLevel)qos);
            if (version == MqttProtocolVersion.V500) builder = builder.WithUserProperty("k", $"v{qos}");
            var result = manager.Until(client.PublishAsync(builder.Build()));
            Assert.True(result.IsSuccess, result.ReasonString);
        }
        manager.Until(() => { lock (received) return received.Count == 3; }, what: "three messages back through the broker");
        Assert.Equal(["n/0 p0 0", "n/1 p1 1", "n/2 p2 2"], received.Order());
        if (version == MqttProtocolVersion.V500) Assert.Equal(["v0", "v1", "v2"], properties.Select(p => p.Value).Order());
        manager.Until(client.DisconnectAsync(new MN.MqttClientDisconnectOptionsBuilder().Build()));
        manager.Until(() => broker.ConnectedCount == 0, what: "the broker to see the disconnect");
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void Meerkat_client_round_trips_every_qos_through_the_mqttnet_server(MqttProtocolVersion version)
    {
        int port = MqttTestKit.FreePort();
        var serverOptions = new MNS.MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build();
        using var server = new MNS.MqttServerFactory().CreateMqttServer(serverOptions);
        manager.Until(server.StartAsync());
        try
        {
            var client = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ProtocolVersion = version, ClientId = "meerkat" });
            manager.Until(() => client.IsConnected, what: "CONNACK from MQTTnet");
            client.Session.Subscribe([new MqttSubscription("m/#", MqttQualityOfService.ExactlyOnce)]);
            manager.Until(() => client.Acks.Count == 1, what: "SUBACK");
            for (int qos = 0; qos < 3; qos++)
            {
                var properties = version == MqttProtocolVersion.V500 ? new MqttProperties { ResponseTopic = "reply/here", CorrelationData = new byte[] { 7, (byte)qos } }.AddUserProperty("k", "v") : null;
                client.Session.Publish(new MqttApplicationMessage($"m/{qos}", MqttTestKit.Bytes($"p{qos}"), (MqttQualityOfService)qos, properties: properties));
            }
            manager.Until(() => client.Messages.Count == 3 && client.Done.Count == 3, what: "three messages back");
            Assert.Equal(["m/0 p0 0", "m/1 p1 1", "m/2 p2 2"], client.Messages.Select(m => $"{m.Topic} {m.Payload} {(int)m.QoS}").Order());
            Assert.All(client.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
            if (version == MqttProtocolVersion.V500)
            {
                Assert.Equal("reply/here", client.LastProperties!.ResponseTopic);
                Assert.Equal([new MqttUserProperty("k", "v")], client.LastProperties.UserProperties!);
            }
            client.Session.Disconnect();
            manager.Until(() => client.Session.IsEnded, what: "the session to end");
        }
        finally
        {
            manager.Until(server.StopAsync(new MNS.MqttServerStopOptions()));
        }
    }

    /// <summary>MQTTnet's client side of enhanced authentication: answers each AUTH 0x18 with "response:" + the data,
    /// records what it saw (also the AUTH that ends a re-authentication).</summary>
    private sealed class ResponderHandler : MN.IMqttEnhancedAuthenticationHandler
    {
        public List<(MNP.MqttAuthenticateReasonCode Code, string Data)> Seen { get; } = [];

        public async Task HandleEnhancedAuthenticationAsync(MN.MqttEnhancedAuthenticationEventArgs e)
        {
            string data = System.Text.Encoding.UTF8.GetString(e.AuthenticationData ?? []);
            lock (Seen) Seen.Add((e.ReasonCode, data));
            if (e.ReasonCode == MNP.MqttAuthenticateReasonCode.ContinueAuthentication)
                await e.SendAsync(new MN.SendMqttEnhancedAuthenticationDataOptions { Data = System.Text.Encoding.UTF8.GetBytes("response:" + data) });
        }
    }

    [Fact]
    public void MqttNet_client_authenticates_and_re_authenticates_with_the_meerkat_broker()
    {
        var seen = new List<(int Step, bool Reauth, string Data)>();
        var (broker, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions
        {
            EnhancedAuthentication = e =>
            {
                string data = System.Text.Encoding.UTF8.GetString(e.Data.Span);
                seen.Add((e.Step, e.IsReauthentication, data));
                if (e.Method != "TEST-CR") return MqttAuthenticationResult.Fail(MqttReasonCode.BadAuthenticationMethod);
                if (e.Step == 0) return MqttAuthenticationResult.Continue("challenge"u8.ToArray());
                return data == "response:challenge" ? MqttAuthenticationResult.Success("welcome"u8.ToArray()) : MqttAuthenticationResult.Fail();
            },
        });
        var handler = new ResponderHandler();
        using var client = new MN.MqttClientFactory().CreateMqttClient();
        var options = new MN.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MN.Formatter.MqttProtocolVersion.V500).WithClientId("mqttnet-auth")
            .WithEnhancedAuthentication("TEST-CR", "hello"u8.ToArray()).WithEnhancedAuthenticationHandler(handler).Build();
        var result = manager.Until(client.ConnectAsync(options));
        Assert.Equal(MN.MqttClientConnectResultCode.Success, result.ResultCode);
        Assert.Equal("welcome", System.Text.Encoding.UTF8.GetString(result.AuthenticationData));
        Assert.Equal([(0, false, "hello"), (1, false, "response:challenge")], seen);

        // Re-authentication (§4.12.1): AUTH 0x19 from MQTTnet, a round, then AUTH 0x00 from the broker.
        manager.Until(client.SendEnhancedAuthenticationExchangeDataAsync(new MN.MqttEnhancedAuthenticationExchangeData
        {
            ReasonCode = MNP.MqttAuthenticateReasonCode.ReAuthenticate,
            AuthenticationData = "hello"u8.ToArray(),
        }));
        manager.Until(() => { lock (handler.Seen) return handler.Seen.Count == 3; }, what: "the re-authentication's rounds at MQTTnet");
        Assert.Equal([(0, true, "hello"), (1, true, "response:challenge")], seen.Skip(2));
        lock (handler.Seen) Assert.Equal((MNP.MqttAuthenticateReasonCode.Success, "welcome"), handler.Seen[2]);
        Assert.True(client.IsConnected);
        Assert.Equal(1, broker.ConnectedCount);

        // An unknown method: CONNACK 0x8C.
        using var other = new MN.MqttClientFactory().CreateMqttClient();
        var refused = manager.Until(other.ConnectAsync(new MN.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MN.Formatter.MqttProtocolVersion.V500)
            .WithClientId("mqttnet-kerberos").WithEnhancedAuthentication("GS2-KRB5").WithEnhancedAuthenticationHandler(handler).Build()));
        Assert.Equal(MN.MqttClientConnectResultCode.BadAuthenticationMethod, refused.ResultCode);
        manager.Until(client.DisconnectAsync(new MN.MqttClientDisconnectOptionsBuilder().Build()));
    }

    [Fact]
    public void Meerkat_client_authenticates_with_the_mqttnet_server()
    {
        int port = MqttTestKit.FreePort();
        var factory = new MNS.MqttServerFactory();
        var serverOptions = new MNS.MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build();
        using var server = factory.CreateMqttServer(serverOptions);
        var serverSaw = new List<string>();
        server.ValidatingConnectionAsync += async args =>
        {
            if (args.AuthenticationMethod != "TEST-CR")
            {
                args.ReasonCode = MNP.MqttConnectReasonCode.BadAuthenticationMethod;
                return;
            }
            lock (serverSaw) serverSaw.Add(System.Text.Encoding.UTF8.GetString(args.AuthenticationData ?? []));
            var reply = await args.ExchangeEnhancedAuthenticationAsync(factory.CreateExchangeExtendedAuthenticationOptionsBuilder().WithAuthenticationData("challenge").Build(), args.CancellationToken);
            string answer = System.Text.Encoding.UTF8.GetString(reply.AuthenticationData ?? []);
            lock (serverSaw) serverSaw.Add(answer);
            if (answer != "response:challenge") args.ReasonCode = MNP.MqttConnectReasonCode.NotAuthorized;
            else args.ResponseAuthenticationData = "welcome"u8.ToArray();
        };
        manager.Until(server.StartAsync());
        try
        {
            var clientSeen = new List<(int Step, bool Complete, string Data)>();
            var client = new RecordingClient(manager, new MqttClientOptions
            {
                Url = $"mqtt://127.0.0.1:{port}",
                ClientId = "meerkat-auth",
                AuthenticationMethod = "TEST-CR",
                AuthenticationData = "hello"u8.ToArray(),
                EnhancedAuthentication = e =>
                {
                    string data = System.Text.Encoding.UTF8.GetString(e.Data.Span);
                    clientSeen.Add((e.Step, e.IsComplete, data));
                    if (e.IsComplete) return data == "welcome" ? MqttAuthenticationResult.Success() : MqttAuthenticationResult.Fail();
                    return MqttAuthenticationResult.Continue(System.Text.Encoding.UTF8.GetBytes("response:" + data));
                },
            });
            manager.Until(() => client.IsConnected, what: "CONNACK from MQTTnet after the exchange");
            lock (serverSaw) Assert.Equal(["hello", "response:challenge"], serverSaw);
            Assert.Equal([(0, false, "challenge"), (1, true, "welcome")], clientSeen);

            var unknown = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ClientId = "meerkat-krb", AuthenticationMethod = "GS2-KRB5" });
            manager.Until(() => unknown.Session.IsEnded, what: "the refusal");
            Assert.Equal(MqttReasonCode.BadAuthenticationMethod, Assert.Single(unknown.ConnAcks).ReasonCode);
            client.Session.Disconnect();
            manager.Until(() => client.Session.IsEnded, what: "the session to end");
        }
        finally
        {
            manager.Until(server.StopAsync(new MNS.MqttServerStopOptions()));
        }
    }
}
