using System.Runtime.InteropServices;

namespace Meerkat.Cli;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM for a server command: the first begins a graceful stop, a second
/// stops at once. The signals no longer end the process themselves while this is registered.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly Action graceful;
    private readonly Action immediate;
    private readonly PosixSignalRegistration interrupt;
    private readonly PosixSignalRegistration terminate;
    private int received;

    public StopSignals(Action graceful, Action immediate)
    {
        this.graceful = graceful;
        this.immediate = immediate;
        interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        string name = context.Signal == PosixSignal.SIGINT ? "interrupt" : "SIGTERM";
        if (Interlocked.Increment(ref received) == 1)
        {
            Console.Error.WriteLine($"{name}: stopping (again to stop at once)");
            graceful();
        }
        else
        {
            Console.Error.WriteLine($"{name}: stopping now");
            immediate();
        }
    }

    public void Dispose()
    {
        interrupt.Dispose();
        terminate.Dispose();
    }
}
