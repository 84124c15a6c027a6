using Meerkat;

namespace Meerkat.Bench.Harness;

/// <summary>The body of every Meerkat child server: one manager per thread sharing the port
/// (SO_REUSEPORT), each loop on its own thread, "LISTENING url" on stdout once bound, and a clean
/// stop when the parent closes stdin.</summary>
internal static class MeerkatChildServer
{
    /// <param name="threads">Managers (loops) to run.</param>
    /// <param name="port">Port to bind; 0 picks one (the first listener's, shared by the rest).</param>
    /// <param name="scheme">Scheme printed in the LISTENING line.</param>
    /// <param name="listen">Binds one manager's listener to a port and returns it.</param>
    /// <param name="waitForStop">Blocks until the parent says stop (stdin closed).</param>
    public static int Run(int threads, int port, string scheme, Func<Manager, int, ListenOptions, Connection> listen, Action waitForStop)
    {
        var managers = new Manager[threads];
        var loops = new Thread[threads];
        using var stop = new CancellationTokenSource();
        try
        {
            for (int i = 0; i < threads; i++)
            {
                managers[i] = new Manager();
                var listener = listen(managers[i], port, new ListenOptions { ReusePort = threads > 1 });
                port = listener.LocalEndPoint?.Port ?? throw new InvalidOperationException("listener has no local end point");
            }
            for (int i = 0; i < threads; i++)
            {
                var manager = managers[i];
                loops[i] = new Thread(() => manager.Run(stop.Token)) { Name = $"meerkat-loop-{i}" };
                loops[i].Start();
            }
            Console.WriteLine($"LISTENING {scheme}://127.0.0.1:{port}");
            Console.Out.Flush();
            waitForStop();
        }
        finally
        {
            stop.Cancel();
            foreach (var loop in loops) loop?.Join(TimeSpan.FromSeconds(5));
            foreach (var manager in managers) manager?.Dispose();
        }
        return 0;
    }
}
