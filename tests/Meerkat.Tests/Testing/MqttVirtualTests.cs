using Meerkat.Mqtt;
using Meerkat.Testing;
using Meerkat.Tests.Mqtt;

namespace Meerkat.Tests.Testing;

/// <summary>MQTT, broker and clients unchanged, on the virtual network: QoS 1 across split, slow,
/// late links and a broker's keep-alive measured on virtual time, the same trace for the same seed.</summary>
public sealed class MqttVirtualTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Qos1_messages_cross_split_slow_links_once_each_in_order_and_the_seed_replays(int seed)
    {
        Assert.Equal(Run(seed), Run(seed));
    }

    [Fact]
    public void Keep_alive_pings_hold_an_idle_session_open_through_ten_minutes_of_virtual_time()
    {
        using var network = new VirtualNetwork(seed: 5);
        network.Downstream = new LinkFaults { Latency = TimeSpan.FromMilliseconds(40) };
        var brokerManager = network.CreateManager("broker.test");
        using var broker = new MqttBroker(new MqttBrokerOptions());
        brokerManager.ListenMqtt("mqtt://broker.test:1883", broker);
        var clients = network.CreateManager("clients.test");
        var client = new RecordingClient(clients, new MqttClientOptions { Url = "mqtt://broker.test:1883", ClientId = "idle", KeepAlive = TimeSpan.FromSeconds(30) });
        Assert.True(network.RunUntil(() => client.ConnAcks.Count == 1, TimeSpan.FromMinutes(1)));
        var start = network.Clock.GetUtcNow();

        // Ten minutes with nothing to say: the broker would drop a client silent for 1.5 keep-alives
        // (MQTT 5 §3.1.2.10); the client's PINGREQs, on the same virtual clock, keep it open.
        Assert.False(network.RunUntil(() => client.Closes > 0, TimeSpan.FromMinutes(10)));
        Assert.True(network.Clock.GetUtcNow() - start >= TimeSpan.FromMinutes(10));
        Assert.True(client.IsConnected);
        Assert.Single(client.ConnAcks);
    }

    private static string Run(int seed)
    {
        using var network = new VirtualNetwork(seed);
        network.Upstream = new LinkFaults { MaxSegment = 3, Latency = TimeSpan.FromMilliseconds(20) };
        network.Downstream = new LinkFaults { MaxSegment = 2, Latency = TimeSpan.FromMilliseconds(30), BytesPerSecond = 5_000 };
        var brokerManager = network.CreateManager("broker.test");
        using var broker = new MqttBroker(new MqttBrokerOptions());
        brokerManager.ListenMqtt("mqtt://broker.test:1883", broker);
        var clients = network.CreateManager("clients.test");
        var subscriber = new RecordingClient(clients, new MqttClientOptions { Url = "mqtt://broker.test:1883", ClientId = "sub" });
        var publisher = new RecordingClient(clients, new MqttClientOptions { Url = "mqtt://broker.test:1883", ClientId = "pub" });
        Assert.True(network.RunUntil(() => subscriber.ConnAcks.Count == 1 && publisher.ConnAcks.Count == 1, TimeSpan.FromMinutes(1)));
        subscriber.Session.Subscribe("t/#", MqttQualityOfService.AtLeastOnce);
        Assert.True(network.RunUntil(() => subscriber.Acks.Count == 1, TimeSpan.FromMinutes(1)));

        for (int i = 0; i < 20; i++) publisher.Session.Publish($"t/{i}", MqttTestKit.Bytes($"message {i}"), MqttQualityOfService.AtLeastOnce);
        Assert.True(network.RunUntil(() => subscriber.Messages.Count == 20 && publisher.Done.Count == 20, TimeSpan.FromMinutes(5)));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"t/{i}"), subscriber.Messages.Select(m => m.Topic));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"message {i}"), subscriber.Messages.Select(m => m.Payload));
        Assert.All(publisher.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
        Assert.Empty(subscriber.Errors);
        return network.TraceDigest();
    }
}
