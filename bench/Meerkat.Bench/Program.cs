// Meerkat benchmark harness. One subcommand per benchmark (Benchmarks/*.cs); the shared closed-loop
// load generator and report live in Harness/. Run in Release:
//   dotnet run -c Release --project bench/Meerkat.Bench -- echo [--connections 64] [--seconds 5] [--size 64]
//   dotnet run -c Release --project bench/Meerkat.Bench -- plaintext [--seconds 5] [--connections 64]
//   dotnet run -c Release --project bench/Meerkat.Bench -- client|download|http2|https|websocket|routing|proxy [--option value ...]
//   dotnet run -c Release --project bench/Meerkat.Bench -- idle|native|scaling|observability [--option value ...]
using Meerkat.Bench.Benchmarks;
using Meerkat.Bench.Harness;

var benchmarks = new Dictionary<string, (string Summary, Func<BenchArgs, int> Run)>
{
    ["echo"] = ("TCP echo round trips: Meerkat vs. async System.Net.Sockets", EchoBenchmark.Run),
    ["plaintext"] = ("HTTP GET /plaintext: Meerkat vs. Kestrel, servers in child processes, wrk + h2load", PlaintextBenchmark.Run),
    ["client"] = ("HTTP client: MeerkatHttpClient vs. HttpClient against a Kestrel child, sequential + concurrent", ClientBenchmark.Run),
    ["download"] = ("1 GiB from nginx (child): `meerkat get -o` vs. `curl -o`, MB/s and peak RSS", DownloadBenchmark.Run),
    ["http2"] = ("HTTP/2 GET /plaintext, h2load -c 64 -m 16 over h2c and h2 (TLS): Meerkat vs. Kestrel (vs. nghttpd when installed)", Http2Benchmark.Run),
    ["https"] = ("HTTPS GET /plaintext: Meerkat vs. Kestrel (same PEM cert), wrk keep-alive + Connection: close", HttpsBenchmark.Run),
    ["websocket"] = ("WebSocket binary echo round trips: Meerkat vs. Kestrel (children), same closed-loop load", WebSocketBenchmark.Run),
    ["idle"] = ("memory per idle keep-alive connection (10,000 of them): Meerkat vs. Kestrel vs. nginx", IdleBenchmark.Run),
    ["native"] = ("native meerkat vs. meerkat on the JIT vs. Kestrel: size, start to first answer, RSS idle and after load", NativeBenchmark.Run),
    ["scaling"] = ("keep-alive req/s: Meerkat 1 and 2 loops vs. nginx 1 and 2 workers vs. Kestrel, scaling ratios", ScalingBenchmark.Run),
    ["routing"] = ("GET /plaintext among 50 routes: Meerkat plain handler vs. Meerkat Router vs. Kestrel minimal APIs", RoutingBenchmark.Run),
    ["proxy"] = ("reverse proxy: Meerkat MapProxy vs. nginx proxy_pass to the same nginx upstream, req/s and 1 GiB MB/s", ProxyBenchmark.Run),
    ["observability"] = ("GET /plaintext with nothing listening vs. OpenTelemetry metrics, metrics + traces, a Prometheus scrape; Kestrel with the same SDK", ObservabilityBenchmark.Run),
    ["core"] = ("the sans-I/O HTTP/1.1 server core alone (no socket, no loop): ns and bytes per request, best of many rounds", CoreBenchmark.Run),
    ["mqtt"] = ("MQTT brokers (children): Meerkat vs. mosquitto vs. MQTTnet, msg/s, latency, memory per connection; clients vs MQTTnet", MqttBenchmark.Run),
};

// Hidden subcommands: the server children the plaintext/https and websocket benchmarks start (positional PORT first).
var servers = new Dictionary<string, Func<string[], int>>
{
    ["serve-meerkat"] = PlaintextBenchmark.ServeMeerkat,
    ["serve-kestrel"] = PlaintextBenchmark.ServeKestrel,
    ["serve-meerkat-ws"] = WebSocketBenchmark.ServeMeerkat,
    ["serve-kestrel-ws"] = WebSocketBenchmark.ServeKestrel,
    ["serve-meerkat-routed"] = RoutingBenchmark.ServeMeerkatRouted,
    ["serve-kestrel-routed"] = RoutingBenchmark.ServeKestrelRouted,
    ["serve-meerkat-proxy"] = ProxyBenchmark.ServeMeerkatProxy,
    ["serve-meerkat-mqtt"] = MqttBenchmark.ServeMeerkat,
    ["serve-mqttnet"] = MqttBenchmark.ServeMqttNet,
    ["serve-meerkat-observed"] = ObservabilityBenchmark.ServeMeerkat,
    ["serve-kestrel-observed"] = ObservabilityBenchmark.ServeKestrel,
};
if (args.Length > 0 && servers.TryGetValue(args[0], out var serve))
{
    try { return serve(args[1..]); }
    catch (ArgumentException ex) { Console.Error.WriteLine($"error: {ex.Message}"); return 2; }
}

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var benchmark))
{
    Console.Error.WriteLine("usage: Meerkat.Bench <benchmark> [--option value ...]");
    foreach (var (name, (summary, _)) in benchmarks) Console.Error.WriteLine($"  {name,-10} {summary}");
    Console.Error.WriteLine("common options: --connections N  --seconds S  --warmup S");
    return args.Length == 0 || args[0] is "-h" or "--help" ? 0 : 2;
}

try
{
    return benchmark.Run(new BenchArgs(args[1..]));
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}
