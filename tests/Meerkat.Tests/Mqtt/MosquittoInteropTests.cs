using System.Diagnostics;
using System.Text;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>mosquitto as the broker for Meerkat's client, and mosquitto_pub/mosquitto_sub against
/// Meerkat's broker, in both protocol versions.</summary>
public sealed class MosquittoInteropTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void Meerkat_client_publishes_and_receives_through_mosquitto_at_every_qos(MqttProtocolVersion version)
    {
        using var mosquitto = new Mosquitto();
        var client = new RecordingClient(manager, new MqttClientOptions { Url = mosquitto.Url, ProtocolVersion = version, ClientId = "meerkat-" + version });
        manager.Until(() => client.IsConnected, what: "CONNACK from mosquitto");
        client.Session.Subscribe([new MqttSubscription("t/#", MqttQualityOfService.ExactlyOnce)]);
        manager.Until(() => client.Acks.Count == 1, what: "SUBACK");
        for (int qos = 0; qos < 3; qos++) client.Session.Publish($"t/{qos}", MqttTestKit.Bytes($"payload {qos}"), (MqttQualityOfService)qos);
        manager.Until(() => client.Messages.Count == 3 && client.Done.Count == 3, what: "the three messages back");
        Assert.Equal(["t/0 payload 0 0", "t/1 payload 1 1", "t/2 payload 2 2"], client.Messages.OrderBy(m => m.Topic).Select(m => $"{m.Topic} {m.Payload} {(int)m.QoS}"));
        Assert.All(client.Done, d => Assert.Equal(MqttDeliveryOutcome.Delivered, d.Outcome));
    }

    [Theory]
    [MemberData(nameof(MqttTestKit.BothVersions), MemberType = typeof(MqttTestKit))]
    public void Retained_messages_and_wills_work_through_mosquitto(MqttProtocolVersion version)
    {
        using var mosquitto = new Mosquitto();
        var publisher = new RecordingClient(manager, new MqttClientOptions
        {
            Url = mosquitto.Url, ProtocolVersion = version, ClientId = "dying",
            Will = new MqttApplicationMessage("status/dying", MqttTestKit.Bytes("gone"), MqttQualityOfService.AtLeastOnce),
        });
        manager.Until(() => publisher.IsConnected, what: "CONNACK");
        publisher.Session.Publish("status/retained", MqttTestKit.Bytes("kept"), MqttQualityOfService.AtLeastOnce, retain: true);
        manager.Until(() => publisher.Done.Count == 1, what: "PUBACK");
        var watcher = new RecordingClient(manager, new MqttClientOptions { Url = mosquitto.Url, ProtocolVersion = version, ClientId = "watcher" });
        manager.Until(() => watcher.IsConnected, what: "CONNACK");
        watcher.Session.Subscribe([new MqttSubscription("status/#", MqttQualityOfService.AtLeastOnce)]);
        manager.Until(() => watcher.Messages.Count == 1, what: "the retained message");
        Assert.Equal(("status/retained", "kept", true), (watcher.Messages[0].Topic, watcher.Messages[0].Payload, watcher.Messages[0].Retain));
        // Cut the publisher without DISCONNECT: mosquitto publishes its will.
        publisher.Session.Connection!.Close();
        manager.Until(() => watcher.Messages.Count == 2, what: "the will");
        Assert.Equal(("status/dying", "gone"), (watcher.Messages[1].Topic, watcher.Messages[1].Payload));
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public void Mosquitto_clients_talk_through_the_meerkat_broker(string version)
    {
        string sub = MqttTestKit.RequireProgram("mosquitto_sub");
        string pub = MqttTestKit.RequireProgram("mosquitto_pub");
        var (broker, _, port) = MqttTestKit.StartBroker(manager);
        // A retained message first: the subscriber gets it on subscribe.
        manager.Until(Run(pub, "-h", "127.0.0.1", "-p", $"{port}", "-V", version, "-t", "x/retained", "-m", "old", "-r", "-q", "1"));
        Assert.Equal(1, broker.RetainedCount);
        var subscriber = Run(sub, "-h", "127.0.0.1", "-p", $"{port}", "-V", version, "-t", "x/#", "-q", "2", "-C", "4", "-v");
        manager.Until(() => broker.SubscriptionCount == 1, what: "mosquitto_sub's subscription");
        for (int qos = 0; qos < 3; qos++)
            manager.Until(Run(pub, "-h", "127.0.0.1", "-p", $"{port}", "-V", version, "-t", $"x/q{qos}", "-m", $"hello {qos}", "-q", $"{qos}"));
        var output = manager.Until(subscriber);
        Assert.Equal(["x/retained old", "x/q0 hello 0", "x/q1 hello 1", "x/q2 hello 2"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Runs a program (bounded to 30 s) and returns its standard output; a non-zero exit fails.</summary>
    internal static Task<string> Run(string program, params string[] args) => Task.Run(async () =>
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8 })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{Path.GetFileName(program)} {string.Join(' ', args)} did not finish: {await errors}");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(program)} exited {process.ExitCode}: {await errors}");
        return await output;
    });
}
