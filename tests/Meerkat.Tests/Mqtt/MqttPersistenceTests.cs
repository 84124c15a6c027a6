using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>The broker's store: what was acknowledged survives a restart, and a torn last record is tolerated.</summary>
public sealed class MqttPersistenceTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-mqtt-store-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private MqttBrokerOptions Options => new() { DataDirectory = directory };

    private static MqttClientOptions Persistent(string id, MqttProtocolVersion version) => new()
    {
        ClientId = id, ProtocolVersion = version, CleanStart = false, SessionExpiryInterval = version == MqttProtocolVersion.V500 ? 3600u : 0,
    };

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void Sessions_queued_messages_and_retained_messages_survive_a_restart(MqttProtocolVersion version)
    {
        using var pair = new MqttPair(Options);
        var subscriber = pair.Add("sub", Persistent("sub", version));
        var publisher = pair.Add("pub", new MqttClientOptions { ClientId = "pub", ProtocolVersion = version });
        pair.Run();
        pair.Subscribe(subscriber, "q/#", MqttQualityOfService.ExactlyOnce);
        pair.Run();
        pair.Cut(subscriber);
        pair.Publish(publisher, "q/1", "one", MqttQualityOfService.AtLeastOnce);
        pair.Publish(publisher, "q/2", "two", MqttQualityOfService.ExactlyOnce);
        pair.Publish(publisher, "q/0", "lost: QoS 0 is not queued for offline sessions", MqttQualityOfService.AtMostOnce);
        pair.Publish(publisher, "keep/me", "retained", MqttQualityOfService.AtLeastOnce);
        pair.Publish(publisher, "keep/me", "retained", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.All(publisher.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
        pair.Broker.Publish(new MqttApplicationMessage("keep/me", MqttTestKit.Bytes("retained"), MqttQualityOfService.AtLeastOnce, retain: true));

        pair.RestartBroker(Options, [subscriber, publisher]);
        Assert.Equal(1, pair.Broker.RetainedCount);
        Assert.Equal(1, pair.Broker.SessionCount);
        pair.Connect(subscriber);
        pair.Run();
        Assert.True(subscriber.ConnAcks[^1].SessionPresent);
        Assert.Equal(["q/1:one", "q/2:two"], subscriber.Received);
        // Delivered and acknowledged: a second restart has nothing left to send.
        pair.RestartBroker(Options, [subscriber]);
        pair.Connect(subscriber);
        pair.Run();
        Assert.Equal(2, subscriber.Received.Count);
        pair.Subscribe(subscriber, "keep/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.Equal("keep/me:retained", subscriber.Received[^1]);
    }

    [Fact]
    public void A_torn_last_record_is_cut_off_and_everything_before_it_is_recovered()
    {
        using (var pair = new MqttPair(Options))
        {
            var publisher = pair.Add("pub", new MqttClientOptions { ClientId = "pub" });
            pair.Run();
            pair.Broker.Publish(new MqttApplicationMessage("a", MqttTestKit.Bytes("1"), MqttQualityOfService.AtLeastOnce, retain: true));
            pair.Broker.Publish(new MqttApplicationMessage("b", MqttTestKit.Bytes("2"), MqttQualityOfService.AtLeastOnce, retain: true));
        }
        string log = Path.Combine(directory, "mqtt.log");
        long goodLength = new FileInfo(log).Length;
        // A crash in the middle of an append: a record header promising more bytes than follow.
        using (var file = new FileStream(log, FileMode.Append)) file.Write([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
        var broker = new MqttBroker(Options);
        Assert.Equal(2, broker.RetainedCount);
        broker.Dispose();
        Assert.True(new FileInfo(log).Length <= goodLength);
        // A flipped byte inside the last record: its checksum fails and it is dropped, the rest kept.
        var bytes = File.ReadAllBytes(log);
        bytes[^2] ^= 0xFF;
        File.WriteAllBytes(log, bytes);
        broker = new MqttBroker(Options);
        Assert.Equal(1, broker.RetainedCount);
        broker.Dispose();
    }

    [Fact]
    public void A_file_that_is_not_a_store_is_refused_with_a_message_naming_it()
    {
        File.WriteAllText(Path.Combine(directory, "mqtt.log"), "not a store");
        var error = Assert.Throws<IOException>(() => new MqttBroker(Options));
        Assert.Contains("not a Meerkat MQTT store", error.Message);
    }
}
