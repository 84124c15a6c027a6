using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>Meerkat's client against Meerkat's broker over loopback TCP, in both protocol versions.</summary>
public sealed class MqttLoopbackTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void Messages_flow_at_every_qos_and_each_publish_ends_delivered(MqttProtocolVersion version)
    {
        var (broker, _, port) = MqttTestKit.StartBroker(manager);
        var subscriber = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ProtocolVersion = version, ClientId = "sub" });
        var publisher = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ProtocolVersion = version, ClientId = "pub" });
        manager.Until(() => subscriber.IsConnected && publisher.IsConnected, what: "both CONNACKs");
        subscriber.Session.Subscribe([new MqttSubscription("a/+/c", MqttQualityOfService.ExactlyOnce)]);
        manager.Until(() => subscriber.Acks.Count == 1, what: "SUBACK");
        Assert.Equal([MqttReasonCode.GrantedQoS2], subscriber.Acks[0].ReasonCodes);
        for (int qos = 0; qos < 3; qos++) publisher.Session.Publish($"a/{qos}/c", MqttTestKit.Bytes($"m{qos}"), (MqttQualityOfService)qos);
        publisher.Session.Publish("a/x/d", MqttTestKit.Bytes("not matching"), MqttQualityOfService.AtLeastOnce);
        manager.Until(() => subscriber.Messages.Count == 3 && publisher.Done.Count == 4, what: "three messages and four deliveries");
        Assert.Equal(["a/0/c:m0:0", "a/1/c:m1:1", "a/2/c:m2:2"], subscriber.Messages.Select(m => $"{m.Topic}:{m.Payload}:{(int)m.QoS}"));
        Assert.All(publisher.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
        Assert.Equal(2, broker.ConnectedCount);
        Assert.Empty(subscriber.Errors);
    }

    [Fact]
    public void An_idle_broker_connection_holds_no_buffer()
    {
        MqttTestKit.StartBroker(manager);
        var port = manager.Connections.Single(c => c.Role == ConnectionRole.Listener).LocalEndPoint!.Port;
        var client = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ClientId = "idle" });
        manager.Until(() => client.IsConnected, what: "CONNACK");
        client.Session.Subscribe("x/#", MqttQualityOfService.AtLeastOnce);
        manager.Until(() => client.Acks.Count == 1, what: "SUBACK");
        var accepted = manager.Connections.Single(c => c.Role == ConnectionRole.Accepted);
        manager.Until(() => accepted.SendBuffer.IsEmpty, what: "the SUBACK to leave");
        manager.Poll(10);
        Assert.Equal(0, accepted.ReceiveBuffer.Capacity);
        Assert.Equal(0, accepted.SendBuffer.Capacity);
    }
}
