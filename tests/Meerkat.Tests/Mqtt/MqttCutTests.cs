using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>
/// Every QoS 1 and QoS 2 flow with the connection cut before each of its packets arrives, on the
/// publisher's side and on the subscriber's, over persistent sessions: QoS 1 loses nothing, QoS 2
/// loses nothing and delivers nothing twice, and every publish ends delivered. Socket-free (MqttPair).
/// </summary>
public sealed class MqttCutTests
{
    private static MqttClientOptions Persistent(string id, MqttProtocolVersion version) => new()
    {
        ClientId = id,
        ProtocolVersion = version,
        CleanStart = false,
        SessionExpiryInterval = version == MqttProtocolVersion.V500 ? 3600u : 0,
    };

    public static TheoryData<MqttProtocolVersion, MqttQualityOfService, int, string?> Cuts()
    {
        var data = new TheoryData<MqttProtocolVersion, MqttQualityOfService, int, string?>();
        foreach (var version in MqttTestKit.Versions)
            foreach (var qos in new[] { MqttQualityOfService.AtLeastOnce, MqttQualityOfService.ExactlyOnce })
            {
                // The uncut flow has at most 8 packets (QoS 2: 4 on each side); cut before each, and restart the broker at each too.
                for (int step = 0; step < 9; step++)
                {
                    data.Add(version, qos, step, null);
                    data.Add(version, qos, step, "restart");
                }
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cuts))]
    public void A_cut_at_any_step_loses_nothing_and_qos2_never_doubles(MqttProtocolVersion version, MqttQualityOfService qos, int cutAt, string? mode)
    {
        string? directory = mode == "restart" ? Directory.CreateTempSubdirectory("meerkat-mqtt-cut-").FullName : null;
        var brokerOptions = new MqttBrokerOptions { DataDirectory = directory };
        try
        {
            using var pair = new MqttPair(brokerOptions);
            var subscriber = pair.Add("sub", Persistent("sub", version));
            var publisher = pair.Add("pub", Persistent("pub", version));
            pair.Run();
            pair.Subscribe(subscriber, "flow/#", qos);
            pair.Run();
            pair.Publish(publisher, "flow/x", "the message", qos);
            int delivered = 0;
            string? cutBefore = null;
            while (pair.Peek() is { } next)
            {
                if (delivered++ == cutAt && cutBefore is null)
                {
                    cutBefore = next;
                    // Cut the connection this packet travels on; with "restart", the broker restarts too.
                    var victim = next.Contains("sub", StringComparison.Ordinal) ? subscriber : publisher;
                    if (mode == "restart") pair.RestartBroker(brokerOptions, [subscriber, publisher]);
                    else pair.Cut(victim);
                    if (subscriber.Link is null) pair.Connect(subscriber);
                    if (publisher.Link is null) pair.Connect(publisher);
                    continue;
                }
                pair.Step();
            }
            string trace = $"cut before {cutBefore ?? "nothing"}: {string.Join(" | ", pair.Log)}";
            Assert.True(publisher.Done.Count == 1, trace);
            Assert.True(publisher.Done[0].Outcome == MqttDeliveryOutcome.Delivered, trace);
            if (qos == MqttQualityOfService.ExactlyOnce) Assert.True(subscriber.Received.Count == 1, $"{subscriber.Received.Count} deliveries; {trace}");
            else Assert.True(subscriber.Received.Count >= 1, trace);
            Assert.All(subscriber.Received, m => Assert.Equal("flow/x:the message", m));
            Assert.Equal(0, publisher.Core.InflightCount);
        }
        finally
        {
            if (directory is not null) Directory.Delete(directory, recursive: true);
        }
    }
}
