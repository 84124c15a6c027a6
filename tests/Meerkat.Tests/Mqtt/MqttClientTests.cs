using System.Buffers;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>The client on the loop and its awaitable facade: reconnects, refusals, keep-alive
/// timeouts, every delivery ending, cancellation.</summary>
public sealed class MqttClientTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-mqtt-client-").FullName;

    public void Dispose()
    {
        manager.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private static void Until(Func<bool> condition, string what, params Manager[] managers)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Loop.Deadline) Assert.Fail($"timed out waiting for {what}");
            foreach (var m in managers) m.Poll(5);
        }
    }

    [Fact]
    public void After_a_broker_restart_the_client_reconnects_resumes_its_session_and_sends_what_it_queued()
    {
        var brokerOptions = new MqttBrokerOptions { DataDirectory = directory };
        var brokerManager = Loop.Create(PollerBackend.Auto);
        var broker = new MqttBroker(brokerOptions);
        int port = brokerManager.ListenMqtt("mqtt://127.0.0.1:0", broker).LocalEndPoint!.Port;
        MqttClientOptions Options(string id) => new() { Url = $"mqtt://127.0.0.1:{port}", ClientId = id, CleanStart = false, SessionExpiryInterval = 600, ReconnectDelay = TimeSpan.FromMilliseconds(50) };
        var subscriber = new RecordingClient(manager, Options("sub"));
        var publisher = new RecordingClient(manager, Options("pub"));
        Until(() => subscriber.IsConnected && publisher.IsConnected, "both connected", manager, brokerManager);
        subscriber.Session.Subscribe("r/#", MqttQualityOfService.AtLeastOnce);
        Until(() => subscriber.Acks.Count == 1, "SUBACK", manager, brokerManager);

        brokerManager.Dispose();
        broker.Dispose();
        Until(() => !subscriber.IsConnected && !publisher.IsConnected, "both to notice", manager);
        for (int i = 0; i < 3; i++) publisher.Session.Publish($"r/{i}", MqttTestKit.Bytes($"{i}"), MqttQualityOfService.AtLeastOnce);

        brokerManager = Loop.Create(PollerBackend.Auto);
        broker = new MqttBroker(brokerOptions);
        brokerManager.ListenMqtt($"mqtt://127.0.0.1:{port}", broker);
        try
        {
            Until(() => subscriber.Messages.Count == 3 && publisher.Done.Count == 3, "the queued messages after the reconnect", manager, brokerManager);
            Assert.Equal(["r/0", "r/1", "r/2"], subscriber.Messages.Select(m => m.Topic));
            Assert.All(publisher.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
            Assert.True(subscriber.ConnAcks[^1].SessionPresent);
            Assert.True(subscriber.Events.Count(k => k == EventKind.Open) >= 2);
        }
        finally
        {
            brokerManager.Dispose();
            broker.Dispose();
        }
    }

    [Fact]
    public void A_refused_connect_raises_connack_error_and_close_and_is_not_retried()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { Authenticate = _ => MqttReasonCode.NotAuthorized });
        var client = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ReconnectDelay = TimeSpan.FromMilliseconds(10) });
        client.Session.Publish("x", MqttTestKit.Bytes("queued"), MqttQualityOfService.AtLeastOnce);
        manager.Until(() => client.Session.IsEnded, what: "the session to end");
        manager.Until(() => client.Closes == 1, what: "Close");
        Assert.Equal([EventKind.Open, EventKind.Resolve, EventKind.Connect, EventKind.MqttConnAck, EventKind.MqttPublishDone, EventKind.Error, EventKind.Close], client.Events);
        Assert.Equal(MqttReasonCode.NotAuthorized, client.ConnAcks[0].ReasonCode);
        Assert.Equal(MqttDeliveryOutcome.NotDelivered, client.Done[0].Outcome);
        Assert.Equal(MqttReasonCode.NotAuthorized, Assert.IsType<MqttProtocolException>(client.Errors[0]).ReasonCode);
    }

    /// <summary>A broker that answers CONNECT and then nothing at all.</summary>
    private int StartSilentBroker()
    {
        var listener = manager.Listen("tcp://127.0.0.1:0", (c, e) =>
        {
            if (e.Kind != EventKind.Read) return;
            if (c.Tag is null && c.Received.Length > 0 && c.Received[0] >> 4 == 1)
            {
                c.Tag = "connected";
                var ack = new ArrayBufferWriter<byte>();
                MqttPacketEncoder.Write(new MqttConnAckPacket(), MqttProtocolVersion.V500, ack);
                c.Send(ack.WrittenSpan);
            }
            c.Consume(c.Received.Length);
        });
        return listener.LocalEndPoint!.Port;
    }

    [Fact]
    public void A_broker_that_stops_answering_pings_is_taken_for_dead()
    {
        int port = StartSilentBroker();
        var client = new RecordingClient(manager, new MqttClientOptions
        {
            Url = $"mqtt://127.0.0.1:{port}", KeepAlive = TimeSpan.FromSeconds(1), PingTimeout = TimeSpan.FromMilliseconds(300), AutoReconnect = false,
        });
        manager.Until(() => client.Closes == 1, what: "the keep-alive timeout");
        Assert.Contains("PINGRESP", Assert.IsType<TimeoutException>(client.Errors.Single()).Message);
        Assert.True(client.Session.IsEnded);
    }

    [Fact]
    public void Every_unacknowledged_message_ends_as_not_delivered_before_close_when_the_session_ends()
    {
        int port = StartSilentBroker();
        var client = new RecordingClient(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}" });
        manager.Until(() => client.IsConnected, what: "CONNACK");
        var first = client.Session.Publish("a", MqttTestKit.Bytes("1"), MqttQualityOfService.AtLeastOnce);
        var second = client.Session.Publish("b", MqttTestKit.Bytes("2"), MqttQualityOfService.ExactlyOnce);
        manager.Poll(10);
        client.Session.Disconnect();
        manager.Until(() => client.Closes == 1, what: "Close");
        Assert.Equal(MqttDeliveryOutcome.NotDelivered, first.Outcome);
        Assert.Equal(MqttDeliveryOutcome.NotDelivered, second.Outcome);
        int close = client.Events.IndexOf(EventKind.Close);
        Assert.Equal(2, client.Events.Take(close).Count(k => k == EventKind.MqttPublishDone));
    }

    [Fact]
    public async Task The_facade_publishes_subscribes_as_a_stream_and_honours_cancellation()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager);
        var run = manager.RunAsync();
        try
        {
            await using var client = await MqttClient.ConnectAsync(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ClientId = "facade" });
            Assert.True(client.IsConnected);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var reading = Task.Run(async () =>
            {
                await foreach (var message in client.SubscribeStream("f/#", MqttQualityOfService.ExactlyOnce, stop.Token))
                {
                    seen.Enqueue($"{message.Topic} {message.PayloadText} {(int)message.QualityOfService}");
                    if (message.Topic == "f/2") break;
                }
            });
            // The stream subscribes first; wait for that by publishing until the first message comes back.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (seen.IsEmpty && DateTime.UtcNow < deadline && !reading.IsCompleted)
            {
                await client.PublishAsync("f/probe", MqttTestKit.Bytes("p"), MqttQualityOfService.AtLeastOnce);
                await Task.WhenAny(reading, Task.Delay(50));
            }
            for (int qos = 1; qos < 3; qos++)
            {
                var delivery = await client.PublishAsync($"f/{qos}", MqttTestKit.Bytes($"m{qos}"), (MqttQualityOfService)qos);
                Assert.Equal(MqttDeliveryOutcome.Delivered, delivery.Outcome);
            }
            await reading.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(["f/1 m1 1", "f/2 m2 2"], seen.Where(s => !s.StartsWith("f/probe", StringComparison.Ordinal)).Take(2));
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PublishAsync("f/x", MqttTestKit.Bytes("x"), MqttQualityOfService.AtLeastOnce, cancellationToken: cancelled.Token));
            await Assert.ThrowsAsync<ArgumentException>(() => client.PublishAsync("bad/#", MqttTestKit.Bytes("x")));
            await client.DisconnectAsync();
            Assert.False(client.IsConnected);
        }
        finally
        {
            manager.Stop();
            await run;
        }
    }

    [Fact]
    public async Task The_facade_reports_a_connection_that_cannot_be_made()
    {
        int port = MqttTestKit.FreePort();
        var run = manager.RunAsync();
        try
        {
            await Assert.ThrowsAnyAsync<IOException>(() => MqttClient.ConnectAsync(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}" }));
        }
        finally
        {
            manager.Stop();
            await run;
        }
    }
}
