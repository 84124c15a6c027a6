using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>
/// The client side of 5.0 Message Expiry (§3.3.2.3.3): a message that waits for a connection past its
/// interval is never sent and ends as not delivered; one sent late carries the lifetime it has left.
/// Socket-free (MqttPair), on its virtual milliseconds.
/// </summary>
public sealed class MqttExpiryTests
{
    private static MqttClientOptions V5(string id) => new() { ClientId = id, ProtocolVersion = MqttProtocolVersion.V500 };

    [Fact]
    public void A_message_queued_offline_past_its_expiry_is_never_sent()
    {
        using var pair = new MqttPair();
        var subscriber = pair.Add("sub", V5("sub"));
        var publisher = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(subscriber, "e/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();

        pair.Cut(publisher);
        pair.Publish(publisher, "e/short", "expires", MqttQualityOfService.AtLeastOnce, new MqttProperties { MessageExpiryInterval = 5 });
        pair.Publish(publisher, "e/none", "stays", MqttQualityOfService.AtLeastOnce);
        pair.Advance(6_000);
        pair.Connect(publisher);
        pair.Run();

        Assert.Equal(["e/none:stays"], subscriber.Received);
        var expired = Assert.Single(publisher.Done, d => d.Message.Topic == "e/short");
        Assert.Equal(MqttDeliveryOutcome.NotDelivered, expired.Outcome);
        Assert.Contains("expired", expired.Reason);
        Assert.Equal(MqttDeliveryOutcome.Delivered, Assert.Single(publisher.Done, d => d.Message.Topic == "e/none").Outcome);
    }

    [Fact]
    public void A_message_sent_late_carries_the_lifetime_it_has_left()
    {
        using var pair = new MqttPair();
        var subscriber = pair.Add("sub", V5("sub"));
        var publisher = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(subscriber, "e/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();

        pair.Cut(publisher);
        pair.Publish(publisher, "e/long", "late", MqttQualityOfService.AtLeastOnce, new MqttProperties { MessageExpiryInterval = 60 });
        pair.Advance(20_000);
        pair.Connect(publisher);
        pair.Run();

        var message = Assert.Single(subscriber.Packets);
        Assert.InRange(message.Properties!.MessageExpiryInterval!.Value, 39u, 40u);
        Assert.Equal(MqttDeliveryOutcome.Delivered, Assert.Single(publisher.Done).Outcome);
    }

    [Fact]
    public void A_message_sent_at_once_keeps_its_interval()
    {
        using var pair = new MqttPair();
        var subscriber = pair.Add("sub", V5("sub"));
        var publisher = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(subscriber, "e/#", MqttQualityOfService.AtMostOnce);
        pair.Run();
        pair.Publish(publisher, "e/now", "fresh", MqttQualityOfService.AtMostOnce, new MqttProperties { MessageExpiryInterval = 60 });
        pair.Run();
        Assert.Equal(60u, Assert.Single(subscriber.Packets).Properties!.MessageExpiryInterval);
    }
}
