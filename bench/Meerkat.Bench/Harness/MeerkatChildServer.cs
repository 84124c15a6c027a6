using Meerkat;

namespace Meerkat.Bench.Harness;

/// <summary>The body of every Meerkat child server: a <see cref="ManagerGroup"/> of N loops sharing
/// the port (SO_REUSEPORT on Linux), "LISTENING url" on stdout once bound, and a clean stop when
/// the parent closes stdin.</summary>
internal static class MeerkatChildServer
{
    /// <param name="threads">Managers (loops) to run.</param>
    /// <param name="port">Port to bind; 0 picks one (shared by every loop).</param>
    /// <param name="scheme">Scheme printed in the LISTENING line.</param>
    /// <param name="listen">Binds one manager's listener to a port and returns it.</param>
    /// <param name="waitForStop">Blocks until the parent says stop (stdin closed).</param>
    /// <param name="managerOptions">Settings of every loop (default: the defaults).</param>
    public static int Run(int threads, int port, string scheme, Func<Manager, int, ListenOptions, Connection> listen, Action waitForStop,
        ManagerOptions? managerOptions = null)
    {
        using var group = new ManagerGroup(new ManagerGroupOptions { Count = threads, Manager = managerOptions });
        var listeners = group.Listen((manager, options) => listen(manager, port, options));
        group.Start();
        Console.WriteLine($"LISTENING {scheme}://127.0.0.1:{listeners[0].LocalEndPoint!.Port}");
        Console.Out.Flush();
        // SIGTERM (as ServerChild stops its children) ends the wait as stdin EOF does.
        using var stopped = new ManualResetEventSlim();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.Set(); });
        _ = Task.Factory.StartNew(() => { waitForStop(); stopped.Set(); }, TaskCreationOptions.LongRunning);
        stopped.Wait();
        return 0;
    }
}
