using System.Net;
using System.Net.Sockets;
using Meerkat.Bench.Harness;

namespace Meerkat.Bench.Benchmarks;

/// <summary>
/// <c>echo</c>: TCP echo on loopback. The same closed-loop load (N blocking client connections,
/// each sending <c>size</c> bytes and waiting for all of them back) against a Meerkat echo server
/// (its loop on one dedicated thread) and against the idiomatic .NET baseline, an async
/// <see cref="Socket"/> server (await ReceiveAsync / SendAsync per connection, on the thread pool).
/// </summary>
public static class EchoBenchmark
{
    private const string MeerkatName = "Meerkat (1 loop thread)";
    private const string SocketName = "Socket async (thread pool)";

    public static int Run(BenchArgs args)
    {
        var load = args.Load();
        int size = args.Int("size", 64, 1, 64 * 1024);
        int rounds = args.Int("rounds", 1, 1, 10);
        string only = args.Choice("server", "both", "both", "meerkat", "socket");
        args.RejectUnknown();

        Report.Machine();
        using (var probe = new Manager()) Console.WriteLine($"Meerkat backend: {probe.Backend} (MEERKAT_BACKEND=epoll|portable overrides)");
        Console.WriteLine($"echo: {load.Connections} connections, {size}-byte messages, warm-up {load.Warmup.TotalSeconds:0.#} s, " +
            $"measure {load.Duration.TotalSeconds:0.#} s, {rounds} round(s), servers alternate");
        Console.WriteLine();

        var results = new List<LoadResult>();
        for (int round = 0; round < rounds; round++)
        {
            if (only is "both" or "meerkat")
                using (var server = new MeerkatEchoServer())
                    results.Add(ClosedLoopLoad.Run(MeerkatName, load, _ => new EchoClient(server.EndPoint, size)));
            if (only is "both" or "socket")
                using (var server = new SocketEchoServer())
                    results.Add(ClosedLoopLoad.Run(SocketName, load, _ => new EchoClient(server.EndPoint, size)));
        }

        Report.Table(results, "size B", _ => size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (only == "both")
        {
            double ratio = Report.Median(results, MeerkatName) / Report.Median(results, SocketName);
            Console.WriteLine($"Meerkat / Socket (median round trips/s): {Report.Number(ratio, "F2")}x");
        }
        return results.Any(r => r.Errors > 0) ? 1 : 0;
    }

    /// <summary>The Meerkat server: echo whatever is unconsumed, on one loop thread.</summary>
    private sealed class MeerkatEchoServer : IDisposable
    {
        private readonly Manager manager = new();
        private readonly Task loop;

        public MeerkatEchoServer()
        {
            var listener = manager.Listen("tcp://127.0.0.1:0", static (c, e) =>
            {
                if (e.Kind != EventKind.Read) return;
                if (c.Send(c.Received)) c.Consume(c.Received.Length);
                else c.Close();
            });
            EndPoint = listener.LocalEndPoint ?? throw new InvalidOperationException("listener has no local end point");
            loop = manager.RunAsync();
        }

        public IPEndPoint EndPoint { get; }

        public void Dispose()
        {
            manager.Stop();
            loop.Wait(TimeSpan.FromSeconds(10));
            manager.Dispose();
        }
    }

    /// <summary>The baseline: one async receive/send loop per accepted socket.</summary>
    private sealed class SocketEchoServer : IDisposable
    {
        private readonly Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource stop = new();
        private readonly Task acceptLoop;

        public SocketEchoServer()
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1024);
            EndPoint = (IPEndPoint)listener.LocalEndPoint!;
            acceptLoop = AcceptLoop();
        }

        public IPEndPoint EndPoint { get; }

        private async Task AcceptLoop()
        {
            while (!stop.IsCancellationRequested)
            {
                Socket socket;
                try { socket = await listener.AcceptAsync(stop.Token); }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                socket.NoDelay = true; // as Meerkat does for every TCP socket
                _ = Echo(socket);
            }
        }

        private static async Task Echo(Socket socket)
        {
            var buffer = new byte[16 * 1024]; // Meerkat's default initial receive buffer
            using (socket)
            {
                try
                {
                    while (true)
                    {
                        int n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                        if (n == 0) return;
                        await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
                    }
                }
                catch (SocketException) { }
            }
        }

        public void Dispose()
        {
            stop.Cancel();
            listener.Dispose();
            acceptLoop.Wait(TimeSpan.FromSeconds(10));
            stop.Dispose();
        }
    }

    /// <summary>One blocking load connection: send <c>size</c> bytes, read them all back, check them.</summary>
    private sealed class EchoClient : ILoadClient
    {
        private readonly Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true, ReceiveTimeout = 5000, SendTimeout = 5000,
        };
        private readonly byte[] request, response;

        public EchoClient(IPEndPoint server, int size)
        {
            request = new byte[size];
            response = new byte[size];
            Random.Shared.NextBytes(request);
            socket.Connect(server);
        }

        public void RoundTrip()
        {
            socket.Send(request);
            for (int got = 0; got < response.Length;)
            {
                int n = socket.Receive(response.AsSpan(got));
                if (n == 0) throw new IOException("server closed the connection");
                got += n;
            }
            if (!response.AsSpan().SequenceEqual(request)) throw new InvalidDataException("echo differs from request");
        }

        public void Dispose() => socket.Dispose();
    }
}
