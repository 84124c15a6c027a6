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
}
