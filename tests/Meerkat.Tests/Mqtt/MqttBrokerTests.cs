using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>The broker's rules, socket-free (MqttPair): routing, wildcards and $-topics, shared
/// subscriptions, subscription options, wills, takeover, hooks, limits and expiry.</summary>
public sealed class MqttBrokerTests
{
    private static MqttClientOptions V5(string id) => new() { ClientId = id };

    private static MqttClientOptions V3(string id) => new() { ClientId = id, ProtocolVersion = MqttProtocolVersion.V311 };

    [Fact]
    public void Leading_wildcards_do_not_match_dollar_topics_but_explicit_filters_do()
    {
        using var pair = new MqttPair();
        var all = pair.Add("all", V5("all"));
        var sys = pair.Add("sys", V5("sys"));
        var pub = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(all, "#", MqttQualityOfService.AtMostOnce);
        pair.Subscribe(all, "+/status", MqttQualityOfService.AtMostOnce);
        pair.Subscribe(sys, "$SYS/#", MqttQualityOfService.AtMostOnce);
        pair.Run();
        pair.Publish(pub, "$SYS/status", "s", MqttQualityOfService.AtMostOnce);
        pair.Publish(pub, "dev/status", "d", MqttQualityOfService.AtMostOnce);
        pair.Run();
        Assert.Equal(["dev/status:d"], all.Received);
        Assert.Equal(["$SYS/status:s"], sys.Received);
    }

    [Fact]
    public void Overlapping_subscriptions_deliver_one_copy_at_the_highest_qos()
    {
        using var pair = new MqttPair();
        var sub = pair.Add("sub", V5("sub"));
        var pub = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(sub, "a/#", MqttQualityOfService.AtMostOnce);
        pair.Subscribe(sub, "a/+", MqttQualityOfService.ExactlyOnce);
        pair.Run();
        pair.Publish(pub, "a/b", "x", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.Equal(["a/b:x"], sub.Received);
    }

    [Fact]
    public void Shared_subscriptions_split_messages_between_members_and_plain_subscribers_get_all()
    {
        using var pair = new MqttPair();
        var first = pair.Add("w1", V5("w1"));
        var second = pair.Add("w2", V3("w2"));
        var watcher = pair.Add("watch", V5("watch"));
        var pub = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(first, "$share/workers/jobs/+", MqttQualityOfService.AtLeastOnce);
        pair.Subscribe(second, "$share/workers/jobs/+", MqttQualityOfService.AtLeastOnce);
        pair.Subscribe(watcher, "jobs/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        for (int i = 0; i < 6; i++) pair.Publish(pub, $"jobs/{i}", $"{i}", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.Equal(3, first.Received.Count);
        Assert.Equal(3, second.Received.Count);
        Assert.Equal(6, first.Received.Concat(second.Received).Distinct().Count());
        Assert.Equal(6, watcher.Received.Count);
    }

    [Fact]
    public void No_local_retain_handling_and_retain_as_published_are_honoured()
    {
        using var pair = new MqttPair();
        var client = pair.Add("c", V5("c"));
        var other = pair.Add("o", V5("o"));
        pair.Run();
        pair.Publish(other, "r/t", "retained", MqttQualityOfService.AtLeastOnce);
        pair.Api(other, () => other.Core.Publish(new MqttApplicationMessage("r/kept", MqttTestKit.Bytes("kept"), MqttQualityOfService.AtLeastOnce, retain: true), 0, other.Out, other));
        pair.Run();
        pair.Api(client, () => client.Core.Subscribe([
            new MqttSubscription("own/#", MqttQualityOfService.AtLeastOnce, NoLocal: true),
            new MqttSubscription("r/#", MqttQualityOfService.AtLeastOnce, RetainHandling: MqttRetainHandling.DoNotSend, RetainAsPublished: true),
        ], null, 0, client.Out));
        pair.Run();
        Assert.Empty(client.Received); // DoNotSend: the retained r/kept is not sent
        pair.Publish(client, "own/x", "mine", MqttQualityOfService.AtLeastOnce);
        pair.Publish(other, "own/x", "theirs", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.Equal(["own/x:theirs"], client.Received);
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void A_will_is_published_when_the_connection_is_cut_and_not_after_a_normal_disconnect(MqttProtocolVersion version)
    {
        using var pair = new MqttPair();
        var watcher = pair.Add("w", V5("w"));
        var will = new MqttApplicationMessage("wills/x", MqttTestKit.Bytes("gone"), MqttQualityOfService.AtLeastOnce);
        var cut = pair.Add("cut", new MqttClientOptions { ClientId = "cut", ProtocolVersion = version, Will = will });
        var polite = pair.Add("polite", new MqttClientOptions { ClientId = "polite", ProtocolVersion = version, Will = will });
        pair.Run();
        pair.Subscribe(watcher, "wills/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        pair.Disconnect(polite);
        pair.Run();
        Assert.Empty(watcher.Received);
        pair.Cut(cut);
        pair.Run();
        Assert.Equal(["wills/x:gone"], watcher.Received);
    }

    [Fact]
    public void A_delayed_will_waits_and_is_cancelled_by_a_reconnect_in_time()
    {
        using var pair = new MqttPair();
        var watcher = pair.Add("w", V5("w"));
        var will = new MqttApplicationMessage("wills/late", MqttTestKit.Bytes("late"), MqttQualityOfService.AtLeastOnce, properties: new MqttProperties { WillDelayInterval = 5 });
        var client = pair.Add("c", new MqttClientOptions { ClientId = "c", Will = will, CleanStart = false, SessionExpiryInterval = 60 });
        pair.Run();
        pair.Subscribe(watcher, "wills/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        pair.Cut(client);
        pair.Advance(3000);
        pair.Run();
        Assert.Empty(watcher.Received);
        pair.Connect(client); // back within the delay: no will
        pair.Run();
        pair.Advance(10_000);
        pair.Run();
        Assert.Empty(watcher.Received);
        pair.Cut(client);
        pair.Advance(6000);
        pair.Run();
        Assert.Equal(["wills/late:late"], watcher.Received);
    }

    [Fact]
    public void A_second_connection_with_the_same_client_id_takes_the_session_over()
    {
        using var pair = new MqttPair();
        var first = pair.Add("first", V5("same"));
        pair.Run();
        var second = pair.Add("second", V5("same"));
        pair.Run();
        Assert.Null(first.Link); // the broker closed it (DISCONNECT 0x8E, then close)
        Assert.Equal(MqttClientState.Connected, second.Core.State);
        Assert.Equal(1, pair.Broker.ConnectedCount);
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void The_authentication_hook_refuses_with_the_code_it_returns(MqttProtocolVersion version)
    {
        using var pair = new MqttPair(new MqttBrokerOptions
        {
            Authenticate = c => c.UserName == "alice" && c.Password?.Span.SequenceEqual("secret"u8) == true ? MqttReasonCode.Success : MqttReasonCode.BadUserNameOrPassword,
        });
        var good = pair.Add("good", new MqttClientOptions { ClientId = "g", ProtocolVersion = version, UserName = "alice", Password = MqttTestKit.Bytes("secret") });
        var bad = pair.Add("bad", new MqttClientOptions { ClientId = "b", ProtocolVersion = version, UserName = "alice", Password = MqttTestKit.Bytes("wrong") });
        pair.Run();
        Assert.Equal(MqttReasonCode.Success, good.ConnAcks[0].ReasonCode);
        Assert.Equal(MqttReasonCode.BadUserNameOrPassword, bad.ConnAcks[0].ReasonCode);
        Assert.Equal(1, pair.Broker.ConnectedCount);
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void The_authorization_hook_refuses_topics(MqttProtocolVersion version)
    {
        using var pair = new MqttPair(new MqttBrokerOptions { Authorize = c => !c.Topic.StartsWith("secret", StringComparison.Ordinal) });
        var client = pair.Add("c", new MqttClientOptions { ClientId = "c", ProtocolVersion = version });
        pair.Run();
        pair.Api(client, () => client.Core.Subscribe([new MqttSubscription("secret/#", MqttQualityOfService.AtLeastOnce), new MqttSubscription("open/#", MqttQualityOfService.AtLeastOnce)], null, 0, client.Out));
        pair.Run();
        var codes = client.Acks[0].ReasonCodes!;
        Assert.Equal(MqttReasonCode.GrantedQoS1, codes[1]);
        Assert.False(codes[0].IsSuccess());
        pair.Publish(client, "secret/x", "no", MqttQualityOfService.AtLeastOnce);
        pair.Publish(client, "open/x", "yes", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.Equal(["open/x:yes"], client.Received);
        var refused = client.Done.Single(d => d.Message.Topic == "secret/x");
        // 5.0 says why (PUBACK 0x87); 3.1.1 has no way to, so the message is acknowledged and dropped.
        Assert.Equal(version == MqttProtocolVersion.V500 ? MqttDeliveryOutcome.Rejected : MqttDeliveryOutcome.Delivered, refused.Outcome);
    }

    [Fact]
    public void Offline_queues_are_bounded_and_queued_messages_expire()
    {
        using var pair = new MqttPair(new MqttBrokerOptions { MaxQueuedMessages = 2 });
        var sub = pair.Add("sub", new MqttClientOptions { ClientId = "sub", CleanStart = false, SessionExpiryInterval = 600 });
        var pub = pair.Add("pub", V5("pub"));
        pair.Run();
        pair.Subscribe(sub, "q/#", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        pair.Cut(sub);
        pair.Api(pub, () => pub.Core.Publish(new MqttApplicationMessage("q/short", MqttTestKit.Bytes("1"), MqttQualityOfService.AtLeastOnce, properties: new MqttProperties { MessageExpiryInterval = 1 }), 0, pub.Out, pub));
        pair.Publish(pub, "q/long", "2", MqttQualityOfService.AtLeastOnce);
        pair.Publish(pub, "q/over", "3", MqttQualityOfService.AtLeastOnce);
        pair.Run();
        Assert.Equal(1, pair.Broker.DroppedCount);
        pair.Advance(2000);
        pair.Connect(sub);
        pair.Run();
        Assert.Equal(["q/long:2"], sub.Received);
    }

    [Fact]
    public void Sessions_expire_after_their_interval_and_keep_alive_is_enforced_at_one_and_a_half_times()
    {
        using var pair = new MqttPair();
        var brief = pair.Add("brief", new MqttClientOptions { ClientId = "brief", CleanStart = false, SessionExpiryInterval = 5, KeepAlive = TimeSpan.Zero });
        var silent = pair.Add("silent", new MqttClientOptions { ClientId = "silent", KeepAlive = TimeSpan.FromSeconds(10) });
        pair.Run();
        pair.Cut(brief);
        Assert.Equal(2, pair.Broker.SessionCount);
        pair.Advance(6000);
        Assert.Equal(1, pair.Broker.SessionCount);
        // The silent client sends nothing (its keep-alive ticks are not run): after 15 s the broker closes it.
        silent.Core.Tick(0, silent.Out); // no-op; the pair's Advance would ping
        pair.Broker.Clock = () => 1000 + 6000 + 16_000 + 10_000;
        pair.Broker.Tick();
        Assert.True(silent.Link!.IsClosed);
    }

    [Fact]
    public void A_client_keeps_its_connection_alive_with_pings()
    {
        using var pair = new MqttPair();
        var client = pair.Add("c", new MqttClientOptions { ClientId = "c", KeepAlive = TimeSpan.FromSeconds(2) });
        pair.Run();
        for (int i = 0; i < 10; i++)
        {
            pair.Advance(1000);
            pair.Run();
        }
        Assert.Equal(MqttClientState.Connected, client.Core.State);
        Assert.Contains(pair.Log, l => l.StartsWith("PingReq", StringComparison.Ordinal));
        Assert.Contains(pair.Log, l => l.StartsWith("PingResp", StringComparison.Ordinal));
    }
}
