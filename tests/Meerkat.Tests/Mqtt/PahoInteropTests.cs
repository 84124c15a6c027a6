using System.Diagnostics;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>Python's paho-mqtt (the Debian package) as a third implementation, against Meerkat's broker.</summary>
public sealed class PahoInteropTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    private const string Script = """
        import sys, time
        import paho.mqtt.client as mqtt
        port, version = int(sys.argv[1]), sys.argv[2]
        proto = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
        got = []
        def on_message(c, u, m):
            got.append("%s %s %d %d" % (m.topic, m.payload.decode(), m.qos, 1 if m.retain else 0))
        subscribed = []
        def on_subscribe(c, u, mid, granted, *rest):
            subscribed.append(mid)
        c = mqtt.Client(client_id="paho-" + version, protocol=proto)
        c.on_message = on_message
        c.on_subscribe = on_subscribe
        c.connect("127.0.0.1", port, keepalive=10)
        c.loop_start()
        c.subscribe("py/#", qos=2)
        deadline = time.time() + 20
        while not subscribed and time.time() < deadline: time.sleep(0.01)
        for q in range(3):
            c.publish("py/%d" % q, "msg %d" % q, qos=q).wait_for_publish(20)
        while len(got) < 4 and time.time() < deadline: time.sleep(0.01)
        c.disconnect()
        c.loop_stop()
        print("\n".join(sorted(got)))
        """;

    [Theory]
    [InlineData("311")]
    [InlineData("5")]
    public void Paho_subscribes_publishes_and_gets_the_retained_message_from_the_meerkat_broker(string version)
    {
        string python = FindPythonWithPaho();
        var (broker, _, port) = MqttTestKit.StartBroker(manager);
        broker.Publish(new MqttApplicationMessage("py/retained", MqttTestKit.Bytes("kept"), MqttQualityOfService.AtLeastOnce, retain: true));
        var output = manager.Until(MosquittoInteropTests.Run(python, "-c", Script, $"{port}", version));
        Assert.Equal(["py/0 msg 0 0 0", "py/1 msg 1 1 0", "py/2 msg 2 2 0", "py/retained kept 1 1"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static string FindPythonWithPaho()
    {
        foreach (var python in new[] { "/usr/bin/python3", Peers.Find("python3") })
        {
            if (python is null || !File.Exists(python)) continue;
            using var probe = Process.Start(new ProcessStartInfo(python, ["-c", "import paho.mqtt.client"]) { RedirectStandardError = true })!;
            probe.WaitForExit(10_000);
            if (probe.ExitCode == 0) return python;
        }
        Peers.SkipOrFail("python3 with paho-mqtt (python3-paho-mqtt)");
        return "";
    }
}
