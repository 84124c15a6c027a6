using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Meerkat.Bench.Harness;
using Meerkat.Mqtt;
using MN = MQTTnet;
using MNS = MQTTnet.Server;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>mqtt</c>: three brokers in child processes (Meerkat's, mosquitto, MQTTnet's server), the same load against
/// each from raw sockets speaking MQTT 3.1.1 (so no client library is measured): messages/s at QoS 0 and QoS 1,
/// one publisher to one subscriber and one to --fanout subscribers; publish-to-receive latency; memory per idle
/// connection with --idle clients. Then client publish throughput: Meerkat's client vs MQTTnet's, QoS 1, against
/// the same mosquitto. Ratios are Meerkat / other in the same run.
/// </summary>
public static class MqttBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private sealed record Broker(string Name, Func<(Process Process, int Port)> Start);

    public static int Run(BenchArgs args)
    {
        double seconds = args.Double("seconds", 5, 0.2, 600);
        int fanout = args.Int("fanout", 100, 1, 10_000);
        int idle = args.Int("idle", 10_000, 0, 100_000);
        int size = args.Int("size", 64, 1, 1 << 20);
        int samples = args.Int("samples", 2000, 10, 1_000_000);
        string only = args.Choice("broker", "all", "all", "meerkat", "mosquitto", "mqttnet", "none");
        string clientBroker = args.Choice("client-broker", "meerkat", "meerkat", "mosquitto");
        string load = args.Choice("load", "raw", "raw", "mqttnet", "tools");
        int count = args.Int("count", 20_000, 100, 10_000_000);
        args.RejectUnknown();
        CultureInfo.CurrentCulture = Invariant;
        Report.Machine();
        var duration = TimeSpan.FromSeconds(seconds);
        var brokers = new List<Broker>
        {
            new("Meerkat", () => StartChild("serve-meerkat-mqtt")),
            new("mosquitto", StartMosquitto),
            new("MQTTnet", () => StartChild("serve-mqttnet")),
        }.Where(b => only == "all" || b.Name.Equals(only, StringComparison.OrdinalIgnoreCase)).ToList();

        var rows = new List<(string Broker, string Test, double Value, string Unit)>();
        foreach (var broker in brokers)
        {
            Process? process = null;
            try
            {
                (process, int port) = broker.Start();
                Console.WriteLine($"{broker.Name}: pid {process.Id}, port {port}");
                foreach (int subscribers in new[] { 1, fanout }.Distinct())
                {
                    foreach (var qos in new[] { MqttQualityOfService.AtMostOnce, MqttQualityOfService.AtLeastOnce })
                    {
                        var (rate, cpu) = load == "tools"
                            ? ToolsThroughput(process.Id, port, subscribers, qos, count)
                            : Throughput(process.Id, port, load, subscribers, qos, size, duration);
                        string test = $"QoS {(int)qos}, 1 -> {subscribers}";
                        rows.Add((broker.Name, test, rate, subscribers == 1 ? "msg/s" : "msg/s delivered"));
                        rows.Add((broker.Name, test + ", broker CPU", cpu, "µs/msg delivered"));
                    }
                }
                if (load != "raw") continue;
                var (p50, p99) = Latency(port, size, samples);
                rows.Add((broker.Name, "latency p50", p50, "µs"));
                rows.Add((broker.Name, "latency p99", p99, "µs"));
                if (idle > 0) rows.Add((broker.Name, $"memory per idle connection ({idle:N0})", MemoryPerConnection(process.Id, port, idle), "KiB"));
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                Console.WriteLine($"{broker.Name}: FAILED: {ex.GetType().Name}: {ex.Message}");
            }
            finally
            {
                Stop(process);
            }
        }
        if (load == "raw") ClientThroughput(rows, duration, size, clientBroker);
        PrintTable(rows);
        return 0;
    }

    // ------------------------------------------------------------------ measurements

    /// <summary>
    /// One publisher, <paramref name="subscribers"/> subscribers on one topic; messages counted at the subscribers per
    /// second over the window. Lossless by construction: the publisher keeps at most <see cref="Unread"/> messages
    /// published and not yet counted by every subscriber (QoS 1 also at most 100 awaiting PUBACK), and every broker
    /// queues without limit, so a count short of published × subscribers after the drain is a loss and is printed.
    /// The broker's CPU time per delivered message is the steadier figure on a shared machine.
    /// </summary>
    private static (double Rate, double CpuMicros) Throughput(int pid, int port, string load, int subscribers, MqttQualityOfService qos, int size, TimeSpan duration)
    {
        string topic = $"bench/{Guid.NewGuid():N}";
        using ThroughputLoad fleet = load == "mqttnet" ? new MqttNetLoad(port, topic, subscribers, qos, size) : new RawLoad(port, topic, subscribers, qos, size);
        var clock = Stopwatch.StartNew();
        var warmup = TimeSpan.FromSeconds(Math.Min(1, duration.TotalSeconds / 2));
        long startCount = 0;
        double cpuBefore = 0;
        bool measuring = false;
        TimeSpan measuredFrom = TimeSpan.Zero;
        while (clock.Elapsed < warmup + duration)
        {
            if (!measuring && clock.Elapsed >= warmup)
            {
                measuring = true;
                startCount = fleet.Delivered;
                cpuBefore = PlaintextBenchmark.ProcStatus.CpuSeconds(pid);
                measuredFrom = clock.Elapsed;
            }
            fleet.PublishSome();
            while (fleet.Published * subscribers - fleet.Delivered > Unread && clock.Elapsed < warmup + duration) Thread.Yield();
        }
        long count = fleet.Delivered - startCount;
        double elapsed = (clock.Elapsed - measuredFrom).TotalSeconds;
        double cpu = PlaintextBenchmark.ProcStatus.CpuSeconds(pid) - cpuBefore;
        long expected = fleet.Published * subscribers;
        var drain = Stopwatch.StartNew();
        while (fleet.Delivered < expected && drain.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(10);
        long lost = expected - fleet.Delivered;
        Console.WriteLine($"  {load} load, QoS {(int)qos}, 1 -> {subscribers}: published {fleet.Published:N0}, delivered {fleet.Delivered:N0} of {expected:N0}" +
            (lost == 0 ? " (none lost)" : $" ({lost:N0} LOST)") + $", broker CPU {cpu / elapsed * 100:F0} % of a core");
        return (count / elapsed, count == 0 ? double.NaN : cpu * 1e6 / count);
    }

    /// <summary>Messages published and not yet counted at every subscriber, at most.</summary>
    private const int Unread = 20_000;

    /// <summary>The measuring clients of one throughput run: one publisher, subscribers counting what they receive.</summary>
    private abstract class ThroughputLoad : IDisposable
    {
        private long delivered;

        public long Delivered => Interlocked.Read(ref delivered);

        public abstract long Published { get; }

        /// <summary>Publishes a batch (QoS 1: keeps 100 awaiting PUBACK, reading those that came).</summary>
        public abstract void PublishSome();

        protected void Count(long n) => Interlocked.Add(ref delivered, n);

        public abstract void Dispose();
    }

    /// <summary>Raw blocking sockets speaking MQTT 3.1.1 through Meerkat's codec: no client library is measured.</summary>
    private sealed class RawLoad : ThroughputLoad
    {
        private readonly List<RawMqtt> subs;
        private readonly RawMqtt publisher;
        private readonly List<Thread> readers;
        private readonly CancellationTokenSource stop = new();
        private readonly string topic;
        private readonly MqttQualityOfService qos;
        private readonly byte[] payload;
        private ushort id;
        private int inflight;

        public RawLoad(int port, string topic, int subscribers, MqttQualityOfService qos, int size)
        {
            (this.topic, this.qos, payload) = (topic, qos, new byte[size]);
            subs = Enumerable.Range(0, subscribers).Select(i => RawMqtt.Connect(port, $"s{i}-{topic[^6..]}")).ToList();
            foreach (var s in subs) s.Subscribe(topic, qos);
            publisher = RawMqtt.Connect(port, "p-" + topic[^6..]);
            readers = subs.Select(s => new Thread(() =>
            {
                try
                {
                    while (!stop.IsCancellationRequested) Count(s.DrainPublishes(qos == MqttQualityOfService.AtLeastOnce));
                }
                catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException) { }
            }) { IsBackground = true }).ToList();
            readers.ForEach(t => t.Start());
        }

        public override long Published => publisher.Sent;

        public override void PublishSome()
        {
            if (qos == MqttQualityOfService.AtMostOnce)
            {
                publisher.PublishBatch(topic, payload, 64);
                return;
            }
            while (inflight < 100) { publisher.Publish(topic, payload, qos, ++id == 0 ? ++id : id); inflight++; }
            publisher.Flush();
            inflight -= publisher.ReadAcks();
        }

        public override void Dispose()
        {
            stop.Cancel();
            publisher.Dispose();
            foreach (var s in subs) s.Dispose();
            readers.ForEach(t => t.Join(2000));
            stop.Dispose();
        }
    }

    /// <summary>MQTTnet's client as publisher and subscribers (3.1.1): the same counts through a library nobody here wrote.</summary>
    private sealed class MqttNetLoad : ThroughputLoad
    {
        private readonly List<MN.IMqttClient> subs = [];
        private readonly MN.IMqttClient publisher;
        private readonly MN.MqttApplicationMessage message;
        private readonly Task[] batch;
        private long published;

        public MqttNetLoad(int port, string topic, int subscribers, MqttQualityOfService qos, int size)
        {
            var factory = new MN.MqttClientFactory();
            var level = (MQTTnet.Protocol.MqttQualityOfServiceLevel)(int)qos;
            for (int i = 0; i < subscribers; i++)
            {
                var client = factory.CreateMqttClient();
                client.ApplicationMessageReceivedAsync += e => { Count(1); return Task.CompletedTask; };
                client.ConnectAsync(Options(port, $"ns{i}-{topic[^6..]}")).GetAwaiter().GetResult();
                client.SubscribeAsync(factory.CreateSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic(topic).WithQualityOfServiceLevel(level)).Build()).GetAwaiter().GetResult();
                subs.Add(client);
            }
            publisher = factory.CreateMqttClient();
            publisher.ConnectAsync(Options(port, "np-" + topic[^6..])).GetAwaiter().GetResult();
            message = new MN.MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(new byte[size]).WithQualityOfServiceLevel(level).Build();
            batch = new Task[qos == MqttQualityOfService.AtMostOnce ? 64 : 100];
        }

        private static MN.MqttClientOptions Options(int port, string id) =>
            new MN.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MN.Formatter.MqttProtocolVersion.V311).WithClientId(id).Build();

        public override long Published => Interlocked.Read(ref published);

        public override void PublishSome()
        {
            for (int i = 0; i < batch.Length; i++) batch[i] = publisher.PublishAsync(message);
            Task.WaitAll(batch);
            Interlocked.Add(ref published, batch.Length);
        }

        public override void Dispose()
        {
            foreach (var client in subs.Append(publisher))
            {
                try { client.DisconnectAsync(new MN.MqttClientDisconnectOptionsBuilder().Build()).Wait(TimeSpan.FromSeconds(5)); }
                catch (AggregateException) { }
                client.Dispose();
            }
        }
    }

    /// <summary>
    /// mosquitto's own tools as the measuring clients: <c>mosquitto_sub -C n</c> per subscriber (its stdout lines
    /// counted), then one <c>mosquitto_pub --repeat n</c>; messages delivered per second from the publisher's start
    /// to the last subscriber's n-th line. The tools, not the broker, bound this rate (mosquitto_pub sends one
    /// message per loop pass): it checks delivery, it does not rank brokers.
    /// </summary>
    private static (double Rate, double CpuMicros) ToolsThroughput(int pid, int port, int subscribers, MqttQualityOfService qos, int count)
    {
        string topic = $"tools/{Guid.NewGuid():N}";
        string payload = new('x', 64);
        long delivered = 0, subscribed = 0;
        var subs = new List<Process>();
        try
        {
            for (int i = 0; i < subscribers; i++)
            {
                var sub = Process.Start(new ProcessStartInfo("stdbuf", ["-oL", "mosquitto_sub", "-p", $"{port}", "-t", topic, "-q", $"{(int)qos}", "-C", $"{count}", "-i", $"ts{i}-{topic[^6..]}", "-d"])
                    { RedirectStandardOutput = true, UseShellExecute = false }) ?? throw new InvalidOperationException("could not start mosquitto_sub");
                // stdbuf: line-buffered stdout through the pipe. -d prints "Subscribed (mid: 1): 0" once the SUBACK came, between the payload lines.
                sub.OutputDataReceived += (_, e) =>
                {
                    if (e.Data == payload) Interlocked.Increment(ref delivered);
                    else if (e.Data?.StartsWith("Subscribed", StringComparison.Ordinal) == true) Interlocked.Increment(ref subscribed);
                };
                sub.BeginOutputReadLine();
                subs.Add(sub);
            }
            var ready = Stopwatch.StartNew();
            while (Interlocked.Read(ref subscribed) < subscribers)
            {
                if (ready.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("mosquitto_sub did not subscribe within 30 s");
                Thread.Sleep(5);
            }
            double cpuBefore = PlaintextBenchmark.ProcStatus.CpuSeconds(pid);
            var clock = Stopwatch.StartNew();
            using (var pub = Process.Start(new ProcessStartInfo("mosquitto_pub", ["-p", $"{port}", "-t", topic, "-q", $"{(int)qos}", "-m", payload, "--repeat", $"{count}", "-i", "tp-" + topic[^6..]]) { UseShellExecute = false })
                ?? throw new InvalidOperationException("could not start mosquitto_pub"))
            {
                if (!pub.WaitForExit(120_000) || pub.ExitCode != 0) throw new IOException($"mosquitto_pub failed (exit {(pub.HasExited ? pub.ExitCode : -1)})");
            }
            long expected = (long)count * subscribers;
            while (Interlocked.Read(ref delivered) < expected && clock.Elapsed < TimeSpan.FromSeconds(120) && subs.Any(s => !s.HasExited)) Thread.Sleep(5);
            foreach (var s in subs) s.WaitForExit(5000);
            double seconds = clock.Elapsed.TotalSeconds;
            double cpu = PlaintextBenchmark.ProcStatus.CpuSeconds(pid) - cpuBefore;
            long got = Interlocked.Read(ref delivered);
            Console.WriteLine($"  mosquitto tools, QoS {(int)qos}, 1 -> {subscribers}: published {count:N0}, delivered {got:N0} of {expected:N0}" + (got == expected ? " (none lost)" : $" ({expected - got:N0} LOST)"));
            return (got / seconds, got == 0 ? double.NaN : cpu * 1e6 / got);
        }
        finally
        {
            foreach (var s in subs) Stop(s);
        }
    }

    /// <summary>Publish-to-receive time of one QoS 0 message at a time, publisher and subscriber on the same thread.</summary>
    private static (double P50, double P99) Latency(int port, int size, int samples)
    {
        string topic = $"lat/{Guid.NewGuid():N}";
        using var subscriber = RawMqtt.Connect(port, "ls" + topic[^6..]);
        subscriber.Subscribe(topic, MqttQualityOfService.AtMostOnce);
        using var publisher = RawMqtt.Connect(port, "lp" + topic[^6..]);
        var payload = new byte[size];
        var times = new double[samples];
        for (int i = -100; i < samples; i++)
        {
            long start = Stopwatch.GetTimestamp();
            publisher.Publish(topic, payload, MqttQualityOfService.AtMostOnce, 0);
            publisher.Flush();
            while (subscriber.DrainPublishes(false) == 0) { }
            if (i >= 0) times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        return (times[samples / 2], times[(int)(samples * 0.99)]);
    }

    /// <summary>Opens <paramref name="count"/> idle MQTT connections (CONNECT, keep-alive off) and reads the broker's RSS growth.</summary>
    private static double MemoryPerConnection(int pid, int port, int count)
    {
        GC.Collect();
        Thread.Sleep(500); // let the broker settle after the throughput runs before the baseline (not a race guard)
        long before = PlaintextBenchmark.ProcStatus.Read(pid).RssKb;
        var connections = new List<RawMqtt>(count);
        try
        {
            for (int i = 0; i < count; i++) connections.Add(RawMqtt.Connect(port, $"idle-{i}"));
            Thread.Sleep(500);
            long after = PlaintextBenchmark.ProcStatus.Read(pid).RssKb;
            return (after - before) / (double)count;
        }
        finally
        {
            foreach (var c in connections) c.Dispose();
        }
    }

    /// <summary>Client publish throughput, QoS 1: Meerkat's MqttClient vs MQTTnet's client against the same broker child
    /// (Meerkat's by default, the fastest here, so that the client is the bottleneck; or mosquitto), each awaiting batches
    /// of 100 publishes; also this process's CPU time per message (the client's cost: the broker is another process).</summary>
    private static void ClientThroughput(List<(string, string, double, string)> rows, TimeSpan duration, int size, string brokerName)
    {
        Process? process = null;
        try
        {
            var (child, port) = brokerName == "mosquitto" ? StartMosquitto() : StartChild("serve-meerkat-mqtt");
            process = child;
            Console.WriteLine($"clients against {brokerName} (pid {process.Id}, port {port})");
            var payload = new byte[size];
            using (var manager = new Manager())
            {
                var loop = manager.RunAsync();
                var client = MqttClient.ConnectAsync(manager, new MqttClientOptions { Url = $"mqtt://127.0.0.1:{port}", ProtocolVersion = MqttProtocolVersion.V311, ClientId = "meerkat-client" }).GetAwaiter().GetResult();
                var (rate, cpu) = Measure(() => Task.WhenAll(Enumerable.Range(0, 100).Select(_ => client.PublishAsync("c/m", payload, MqttQualityOfService.AtLeastOnce))));
                rows.Add(("Meerkat client", "publish QoS 1 (batches of 100)", rate, "msg/s"));
                rows.Add(("Meerkat client", "publish QoS 1, client CPU", cpu, "µs/msg"));
                client.DisposeAsync().AsTask().GetAwaiter().GetResult();
                manager.Stop();
                loop.GetAwaiter().GetResult();
            }
            using (var other = new MN.MqttClientFactory().CreateMqttClient())
            {
                other.ConnectAsync(new MN.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MN.Formatter.MqttProtocolVersion.V311).WithClientId("mqttnet-client").Build()).GetAwaiter().GetResult();
                var message = new MN.MqttApplicationMessageBuilder().WithTopic("c/n").WithPayload(payload).WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build();
                var (rate, cpu) = Measure(() => Task.WhenAll(Enumerable.Range(0, 100).Select(_ => other.PublishAsync(message))));
                rows.Add(("MQTTnet client", "publish QoS 1 (batches of 100)", rate, "msg/s"));
                rows.Add(("MQTTnet client", "publish QoS 1, client CPU", cpu, "µs/msg"));
                other.DisconnectAsync(new MN.MqttClientDisconnectOptionsBuilder().Build()).GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            Console.WriteLine($"client throughput: FAILED: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            Stop(process);
        }

        (double Rate, double CpuMicros) Measure(Func<Task> batch)
        {
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(Math.Min(1, duration.TotalSeconds / 2))) batch().GetAwaiter().GetResult();
            var self = Process.GetCurrentProcess();
            var cpuBefore = self.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            long sent = 0;
            while (clock.Elapsed < duration)
            {
                batch().GetAwaiter().GetResult();
                sent += 100;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            self.Refresh();
            return (sent / seconds, (self.TotalProcessorTime - cpuBefore).TotalMicroseconds / sent);
        }
    }

    private static void PrintTable(List<(string Broker, string Test, double Value, string Unit)> rows)
    {
        Console.WriteLine();
        Console.WriteLine("| test | Meerkat | mosquitto | MQTTnet | Meerkat/mosquitto | Meerkat/MQTTnet | unit |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var test in rows.Where(r => !r.Broker.EndsWith("client", StringComparison.Ordinal)).Select(r => r.Test).Distinct())
        {
            double? Get(string broker) => rows.Where(r => r.Broker == broker && r.Test == test).Select(r => (double?)r.Value).FirstOrDefault();
            var (m, q, n) = (Get("Meerkat"), Get("mosquitto"), Get("MQTTnet"));
            string unit = rows.First(r => r.Test == test).Unit;
            Console.WriteLine($"| {test} | {F(m)} | {F(q)} | {F(n)} | {Ratio(m, q)} | {Ratio(m, n)} | {unit} |");
        }
        foreach (var mc in rows.Where(r => r.Broker == "Meerkat client"))
        {
            var nc = rows.FirstOrDefault(r => r.Broker == "MQTTnet client" && r.Test == mc.Test);
            if (nc.Broker is not null) Console.WriteLine($"| client: {mc.Test} | {F(mc.Value)} | | {F(nc.Value)} | | {Ratio(mc.Value, nc.Value)} | {mc.Unit} |");
        }
        Console.WriteLine("Ratios: above 1 is better for Meerkat in throughput rows, below 1 in latency and memory rows.");

        static string F(double? v) => v is { } x ? x.ToString(x < 100 ? "F1" : "N0", Invariant) : "-";
        static string Ratio(double? a, double? b) => a is { } x && b is { } y && y > 0 ? (x / y).ToString("F2", Invariant) + "x" : "-";
    }

    // ------------------------------------------------------------------ brokers

    private static (Process, int) StartChild(string command)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(typeof(MqttBenchmark).Assembly.Location);
        info.ArgumentList.Add(command);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is not { } text || !text.StartsWith("LISTENING ", StringComparison.Ordinal))
        {
            Stop(process);
            throw new InvalidOperationException($"{command} did not report LISTENING within 30 s");
        }
        return (process, int.Parse(text["LISTENING ".Length..], Invariant));
    }

    private static (Process, int) StartMosquitto()
    {
        string program = File.Exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        string config = Path.Combine(Path.GetTempPath(), $"meerkat-bench-mosquitto-{port}.conf");
        File.WriteAllText(config, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 0\nmax_inflight_messages 100\nlog_dest none\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
        var process = Process.Start(new ProcessStartInfo(program, ["-c", config]) { UseShellExecute = false, RedirectStandardError = true }) ?? throw new InvalidOperationException("could not start mosquitto");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return (process, port);
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                process.WaitForExit(20);
            }
        }
    }

    private static void Stop(Process? process)
    {
        if (process is null) return;
        try
        {
            if (!process.HasExited) process.Kill();
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    /// <summary>Hidden <c>serve-meerkat-mqtt</c>: Meerkat's broker on one loop until stdin closes or the process is killed.</summary>
    public static int ServeMeerkat(string[] args)
    {
        using var manager = new Manager();
        using var broker = new MqttBroker(new MqttBrokerOptions { MaxInflightMessages = 100, MaxQueuedMessages = 1_000_000 });
        var listener = manager.ListenMqtt("mqtt://127.0.0.1:0", broker);
        Console.Out.WriteLine($"LISTENING {listener.LocalEndPoint!.Port}");
        Console.Out.Flush();
        manager.Run();
        return 0;
    }

    /// <summary>Hidden <c>serve-mqttnet</c>: MQTTnet's server until the process is killed.</summary>
    public static int ServeMqttNet(string[] args)
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var options = new MNS.MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build();
        using var server = new MNS.MqttServerFactory().CreateMqttServer(options);
        server.StartAsync().GetAwaiter().GetResult();
        Console.Out.WriteLine($"LISTENING {port}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }
}

/// <summary>A minimal blocking MQTT 3.1.1 connection on a raw socket, for load: Meerkat's codec, nothing else.</summary>
internal sealed class RawMqtt : IDisposable
{
    private readonly Socket socket;
    private readonly MqttFrameReader reader = new();
    private readonly ArrayBufferWriter<byte> output = new(64 * 1024);
    private readonly byte[] input = new byte[256 * 1024];
    private readonly ArrayBufferWriter<byte> acks = new(4096);
    private int filled;

    private RawMqtt(Socket socket) => this.socket = socket;

    public long Sent { get; private set; }

    public static RawMqtt Connect(int port, string clientId)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 10_000, SendTimeout = 10_000 };
        socket.Connect(IPAddress.Loopback, port);
        var connection = new RawMqtt(socket);
        connection.Write(new MqttConnectPacket { ProtocolVersion = MqttProtocolVersion.V311, ClientId = clientId });
        connection.Flush();
        if (connection.Next() is not MqttConnAckPacket { ReasonCode: MqttReasonCode.Success }) throw new IOException($"{clientId}: CONNECT refused");
        return connection;
    }

    public void Subscribe(string filter, MqttQualityOfService qos)
    {
        Write(new MqttSubscribePacket { PacketId = 1, Subscriptions = [new MqttSubscription(filter, qos)] });
        Flush();
        while (Next() is not MqttSubscribeAckPacket) { }
    }

    public void Publish(string topic, byte[] payload, MqttQualityOfService qos, ushort id)
    {
        Write(new MqttPublishPacket { Topic = topic, Payload = payload, QualityOfService = qos, PacketId = id });
        Sent++;
    }

    public void PublishBatch(string topic, byte[] payload, int count)
    {
        for (int i = 0; i < count; i++) Publish(topic, payload, MqttQualityOfService.AtMostOnce, 0);
        Flush();
    }

    public void Flush()
    {
        if (output.WrittenCount == 0) return;
        socket.Send(output.WrittenSpan);
        output.ResetWrittenCount();
    }

    /// <summary>Reads what is there (blocking for the first bytes); counts PUBACKs.</summary>
    public int ReadAcks()
    {
        int count = 0;
        foreach (var packet in ReadAvailable()) if (packet == MqttPacketType.PubAck) count++;
        return count;
    }

    /// <summary>Reads what is there; counts PUBLISHes, acknowledging QoS 1 ones in one send.</summary>
    public int DrainPublishes(bool acknowledge)
    {
        int count = 0;
        foreach (var type in ReadAvailable(acknowledge)) if (type == MqttPacketType.Publish) count++;
        if (acks.WrittenCount > 0)
        {
            socket.Send(acks.WrittenSpan);
            acks.ResetWrittenCount();
        }
        return count;
    }

    private List<MqttPacketType> ReadAvailable(bool acknowledge = false)
    {
        var types = new List<MqttPacketType>();
        int n = socket.Receive(input, filled, input.Length - filled, SocketFlags.None);
        if (n == 0) throw new IOException("the broker closed the connection");
        var data = input.AsMemory(0, filled + n);
        while (reader.TryRead(data, out int consumed, out var frame))
        {
            data = data[consumed..];
            types.Add(frame.Type);
            if (acknowledge && frame.Type == MqttPacketType.Publish && (frame.Flags & 0x06) != 0)
            {
                // The packet identifier follows the topic name (a two byte length and the name).
                var body = frame.Body.Span;
                int topicLength = body[0] << 8 | body[1];
                ushort id = (ushort)(body[2 + topicLength] << 8 | body[3 + topicLength]);
                MqttPacketEncoder.Write(new MqttPublishResponsePacket(MqttPacketType.PubAck, id), MqttProtocolVersion.V311, acks);
            }
        }
        filled = 0;
        return types;
    }

    private MqttPacket Next()
    {
        while (true)
        {
            int n = socket.Receive(input, 0, input.Length, SocketFlags.None);
            if (n == 0) throw new IOException("the broker closed the connection");
            if (reader.TryRead(input.AsMemory(0, n), out _, out var frame)) return MqttPacketDecoder.Decode(frame, MqttProtocolVersion.V311);
        }
    }

    private void Write(MqttPacket packet) => MqttPacketEncoder.Write(packet, MqttProtocolVersion.V311, output);

    public void Dispose()
    {
        socket.Dispose();
        reader.Dispose();
    }
}
