using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Meerkat.Bench.Harness;
using Meerkat.Http;
using Meerkat.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Meerkat.Bench.Benchmarks.PlaintextBenchmark;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>websocket</c>: binary echo round trips over WebSocket, Meerkat vs. Kestrel
/// (<c>UseWebSockets</c> + a ReceiveAsync/SendAsync loop), each server in its own child process
/// (hidden <c>serve-meerkat-ws</c> / <c>serve-kestrel-ws</c>). The same load for both: the shared
/// <see cref="ClosedLoopLoad"/> (one blocking thread per connection) with either raw sockets speaking
/// minimal masked frames (<c>--client raw</c>, default) or <see cref="ClientWebSocket"/>.
/// </summary>
public static class WebSocketBenchmark
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(BenchArgs args)
    {
        var settings = args.Load();
        int size = args.Int("size", 64, 1, 65535);
        int rounds = args.Int("rounds", 1, 1, 20);
        int threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        string clientKind = args.Choice("client", "raw", "raw", "clientws");
        string serverChoice = args.Choice("server", "both", "both", "meerkat", "kestrel");
        args.RejectUnknown();
        CultureInfo.CurrentCulture = Invariant;
        if (settings.Duration.TotalSeconds < 1) throw new ArgumentException("--seconds must be >= 1");

        Report.Machine();
        string meerkatName = $"Meerkat ({threads} loop{(threads == 1 ? "" : "s, ReusePort")})";
        const string kestrelName = "Kestrel (UseWebSockets + echo loop)";
        var specs = new List<ServerSpec>();
        if (serverChoice is "both" or "meerkat") specs.Add(new ServerSpec(meerkatName, "serve-meerkat-ws", ["--threads", threads.ToString(Invariant)]));
        if (serverChoice is "both" or "kestrel") specs.Add(new ServerSpec(kestrelName, "serve-kestrel-ws", []));
        string clientName = clientKind == "raw" ? "raw Socket, masked frames" : "ClientWebSocket";
        Console.WriteLine($"load: {settings.Connections} x {clientName}, one blocking thread each, {size} B binary message, " +
            $"send then receive; warm-up {settings.Warmup.TotalSeconds} s, measured {settings.Duration.TotalSeconds} s");
        Console.WriteLine();

        var runs = new List<Measurement>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (var spec in specs)
            {
                ServerProcess? server = null;
                try
                {
                    server = ServerProcess.Start(spec);
                    int port = new Uri(server.Url).Port;
                    var idle = PlaintextBenchmark.ProcStatus.Read(server.Pid);
                    double cpuStart = 0, cpuEnd = 0;
                    var result = ClosedLoopLoad.Run(spec.Name, settings,
                        _ => clientKind == "raw" ? new RawWebSocketClient(port, size) : new ClientWebSocketClient(port, size),
                        start => { if (start) cpuStart = PlaintextBenchmark.ProcStatus.CpuSeconds(server.Pid); else cpuEnd = PlaintextBenchmark.ProcStatus.CpuSeconds(server.Pid); });
                    var mem = PlaintextBenchmark.ProcStatus.Read(server.Pid);
                    var m = new Measurement(spec.Name, result, cpuEnd - cpuStart, mem, idle);
                    runs.Add(m);
                    Console.WriteLine($"{spec.Name}: pid {server.Pid}: {result.RoundTripsPerSecond:N0} rt/s, server CPU {m.CpuMicrosPerRoundTrip:F1} µs/rt " +
                        $"({m.CpuSeconds / result.Seconds * 100:F0} % of a core), VmRSS {Mib(mem.RssKb)} (idle {Mib(idle.RssKb)}), errors {result.Errors}" +
                        (result.FirstError is null ? "" : $" (first: {result.FirstError})"));
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or SocketException or WebSocketException or System.ComponentModel.Win32Exception)
                {
                    Console.WriteLine($"{spec.Name}: FAILED: {ex.GetType().Name}: {ex.Message}");
                    if (server is not null) Console.WriteLine(server.StandardErrorTail());
                    runs.Add(new Measurement(spec.Name, null, 0, default, default));
                }
                finally
                {
                    server?.Dispose(); // close stdin, wait 5 s, then kill by PID
                }
            }
        }
        Console.WriteLine();

        Console.WriteLine($"Client: {clientName}. RSS = child VmRSS after the measured run (VmHWM = peak); CPU = child utime+stime over the measured window.");
        Console.WriteLine();
        Console.WriteLine("| server | connections | size B | round trips/s | server CPU µs/rt | server CPU % of 1 core | idle RSS | VmRSS | VmHWM | errors |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var m in runs)
        {
            if (m.Result is not { } r) { Console.WriteLine($"| {m.Server} | {settings.Connections} | {size} | failed | - | - | - | - | - | - |"); continue; }
            Console.WriteLine($"| {m.Server} | {settings.Connections} | {size} | {r.RoundTripsPerSecond:N0} | {m.CpuMicrosPerRoundTrip:F1} | {m.CpuSeconds / r.Seconds * 100:F0} | " +
                $"{Mib(m.Idle.RssKb)} | {Mib(m.Memory.RssKb)} | {Mib(m.Memory.HwmKb)} | {r.Errors} |");
        }
        Console.WriteLine();
        var ok = runs.Where(m => m.Result is { Errors: 0 }).Select(m => m.Result!).ToList();
        double meerkat = Report.Median(ok, meerkatName), kestrel = Report.Median(ok, kestrelName);
        if (!double.IsNaN(meerkat) && !double.IsNaN(kestrel))
            Console.WriteLine($"Meerkat / Kestrel (median round trips/s): **{meerkat / kestrel:F2}x**");
        return runs.Any(m => m.Result is not { Errors: 0 }) ? 1 : 0;
    }

    private sealed record Measurement(string Server, LoadResult? Result, double CpuSeconds, MemoryStatus Memory, MemoryStatus Idle)
    {
        public double CpuMicrosPerRoundTrip => Result is not { RoundTrips: > 0 } r ? double.NaN : CpuSeconds * 1e6 / r.RoundTrips;
    }

    private static byte[] Payload(int size)
    {
        var payload = new byte[size];
        for (int i = 0; i < size; i++) payload[i] = (byte)('a' + i % 26);
        return payload;
    }

    // ---------------------------------------------------------------------------------------------
    // Load clients
    // ---------------------------------------------------------------------------------------------

    /// <summary>A blocking socket speaking just enough RFC 6455: handshake, one masked binary frame
    /// out (pre-built: fixed mask, fixed payload), one unmasked binary frame back, compared.</summary>
    private sealed class RawWebSocketClient : ILoadClient
    {
        private readonly Socket socket;
        private readonly byte[] frame, expected, buffer;

        public RawWebSocketClient(int port, int size)
        {
            expected = Payload(size);
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 5000, SendTimeout = 5000 };
            try
            {
                socket.Connect(IPAddress.Loopback, port);
                socket.Send(Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
                var head = new byte[4096];
                int got = 0;
                while (got < 4 || !head.AsSpan(0, got).EndsWith("\r\n\r\n"u8)) // the server sends nothing after 101 until we do
                {
                    if (got == head.Length) throw new IOException("handshake response too long");
                    int n = socket.Receive(head, got, 1, SocketFlags.None);
                    if (n == 0) throw new IOException("server closed during the handshake");
                    got += n;
                }
                string response = Encoding.ASCII.GetString(head, 0, got);
                if (!response.StartsWith("HTTP/1.1 101", StringComparison.Ordinal) || !response.Contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", StringComparison.Ordinal))
                    throw new IOException("bad handshake response: " + response.Split("\r\n")[0]);
            }
            catch { socket.Dispose(); throw; }

            int header = size < 126 ? 2 : 4;
            frame = new byte[header + 4 + size];
            frame[0] = 0x82; // FIN + binary
            if (size < 126) frame[1] = (byte)(0x80 | size);
            else { frame[1] = 0x80 | 126; BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)size); }
            byte[] mask = [0x37, 0xfa, 0x21, 0x3d];
            mask.CopyTo(frame, header);
            for (int i = 0; i < size; i++) frame[header + 4 + i] = (byte)(expected[i] ^ mask[i & 3]);
            buffer = new byte[header + size];
        }

        public void RoundTrip()
        {
            for (int sent = 0; sent < frame.Length;) sent += socket.Send(frame, sent, frame.Length - sent, SocketFlags.None);
            int got = 0;
            while (got < buffer.Length)
            {
                int n = socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
                if (n == 0) throw new IOException("server closed the connection");
                got += n;
            }
            int header = expected.Length < 126 ? 2 : 4;
            int length = expected.Length < 126 ? buffer[1] : (buffer[1] == 126 ? BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)) : -1);
            if (buffer[0] != 0x82 || length != expected.Length || !buffer.AsSpan(header).SequenceEqual(expected))
                throw new IOException($"unexpected frame: {buffer[0]:x2} {buffer[1]:x2}");
        }

        public void Dispose() => socket.Dispose();
    }

    /// <summary><see cref="ClientWebSocket"/> driven synchronously from the load thread
    /// (ValueTask overloads, <c>AsTask().GetAwaiter().GetResult()</c>: a pending IValueTaskSource may not be blocked on directly; continuations run on the thread pool).</summary>
    private sealed class ClientWebSocketClient : ILoadClient
    {
        private readonly ClientWebSocket ws = new();
        private readonly byte[] payload, buffer;

        public ClientWebSocketClient(int port, int size)
        {
            payload = Payload(size);
            buffer = new byte[size + 16];
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), timeout.Token).GetAwaiter().GetResult();
            }
            catch { ws.Dispose(); throw; }
        }

        public void RoundTrip()
        {
            ws.SendAsync(payload.AsMemory(), WebSocketMessageType.Binary, true, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            int got = 0;
            while (true)
            {
                var r = ws.ReceiveAsync(buffer.AsMemory(got), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                if (r.MessageType == WebSocketMessageType.Close) throw new IOException("server closed the WebSocket");
                got += r.Count;
                if (r.EndOfMessage) break;
                if (got == buffer.Length) throw new IOException("echo longer than the message");
            }
            if (!buffer.AsSpan(0, got).SequenceEqual(payload)) throw new IOException("echo differs from the message");
        }

        public void Dispose() => ws.Dispose(); // aborts: also unblocks a stuck receive
    }

    // ---------------------------------------------------------------------------------------------
    // Child servers
    // ---------------------------------------------------------------------------------------------

    /// <summary>Hidden subcommand <c>serve-meerkat-ws PORT [--threads N]</c>: N managers with
    /// ReusePort (N &gt; 1), each <c>ListenHttp</c> + <c>UpgradeToWebSocket</c>, echoing every message.</summary>
    public static int ServeMeerkat(string[] args)
    {
        int port = ParsePort(args);
        var options = new BenchArgs(args[1..]);
        int threads = options.Int("threads", Environment.ProcessorCount, 1, 256);
        options.RejectUnknown();

        return MeerkatChildServer.Run(threads, port, "http", (manager, bindPort, listenOptions) =>
            manager.ListenHttp($"http://127.0.0.1:{bindPort}", static (c, e) =>
            {
                switch (e.Kind)
                {
                    case EventKind.HttpMessage:
                        if (!c.UpgradeToWebSocket()) return; // not an upgrade: the core already answered 4xx
                        break;
                    case EventKind.WsMessage:
                        c.SendMessage(e.WebSocket!.MessageKind, e.Data);
                        break;
                }
            }, null, listenOptions), WaitForStdinEof);
    }

    /// <summary>Hidden subcommand <c>serve-kestrel-ws PORT</c>: slim WebApplication, logging off,
    /// <c>app.UseWebSockets()</c> and a terminal middleware that accepts and echoes each message
    /// (<c>ReceiveAsync</c>/<c>SendAsync</c> on Memory, 16 KiB buffer per connection).</summary>
    public static int ServeKestrel(string[] args)
    {
        int port = ParsePort(args);
        new BenchArgs(args[1..]).RejectUnknown();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(static async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest) { context.Response.StatusCode = 400; return; }
            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    int got = 0;
                    ValueWebSocketReceiveResult r;
                    do
                    {
                        r = await ws.ReceiveAsync(buffer.AsMemory(got), CancellationToken.None);
                        got += r.Count;
                    } while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close && got < buffer.Length);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }
                    await ws.SendAsync(buffer.AsMemory(0, got), r.MessageType, r.EndOfMessage, CancellationToken.None);
                }
            }
            catch (WebSocketException) { } // the client went away without a closing handshake (the bench's clients do)
        });

        app.StartAsync().GetAwaiter().GetResult();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine($"LISTENING {address.TrimEnd('/')}");
        Console.Out.Flush();
        var eof = Task.Factory.StartNew(WaitForStdinEof, TaskCreationOptions.LongRunning);
        Task.WaitAny(eof, Task.Delay(Timeout.Infinite, app.Lifetime.ApplicationStopping));
        app.StopAsync().Wait(TimeSpan.FromSeconds(5));
        return 0;
    }
}
