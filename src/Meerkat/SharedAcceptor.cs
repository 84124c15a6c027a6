using System.Net;
using System.Net.Sockets;

namespace Meerkat;

/// <summary>
/// The portable way for the loops of a <see cref="ManagerGroup"/> to serve one port: one listening
/// socket, accepted by one task, each accepted socket handed round-robin to the next loop's
/// socketless listener (posted to that loop, which adopts it as if it had accepted it itself).
/// Used where SO_REUSEPORT is not available or not wanted.
/// </summary>
internal sealed class SharedAcceptor : IDisposable
{
    private readonly List<Connection> listeners = [];
    private readonly CancellationTokenSource stopping = new();
    private Socket? socket;
    private Task? acceptLoop;
    private int next;
    private int disposed;

    /// <summary>Binds the one socket on the first call; every call returns its address.</summary>
    public IPEndPoint Bind(IPEndPoint endPoint, ListenOptions options)
    {
        lock (listeners)
        {
            if (socket is null)
            {
                var listening = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    Transport.ConfigureListener(listening, options, datagram: false);
                    listening.Bind(endPoint);
                    listening.Listen(options.Backlog);
                }
                catch
                {
                    listening.Dispose();
                    throw;
                }
                socket = listening;
            }
            return (IPEndPoint)socket.LocalEndPoint!;
        }
    }

    /// <summary>Adds a loop's listener to the round.</summary>
    public void Add(Connection listener)
    {
        lock (listeners) listeners.Add(listener);
    }

    /// <summary>Starts accepting (once every loop has its listener).</summary>
    public void Start()
    {
        if (socket is null) return;
        acceptLoop ??= Task.Run(AcceptAsync);
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await socket!.AcceptAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection reset while queued, or out of descriptors: the next accept may succeed.
                await Task.Yield();
                continue;
            }
            HandOver(Transport.Prepare(accepted));
        }
    }

    /// <summary>Posts the socket to the next loop whose listener is still open; closes it when none is.</summary>
    private void HandOver(Socket accepted)
    {
        for (int tried = 0; ; tried++)
        {
            Connection listener;
            lock (listeners)
            {
                if (tried >= listeners.Count) break;
                listener = listeners[next];
                next = (next + 1) % listeners.Count;
            }
            if (listener.State >= ConnectionState.Closing) continue;
            try
            {
                listener.Manager.PostWork(new Adoption(listener, accepted));
                return;
            }
            catch (ObjectDisposedException)
            {
                // That loop is gone; try the next.
            }
        }
        accepted.Dispose();
    }

    /// <summary>Stops accepting and closes the socket; connections already handed over live on.
    /// Thread-safe and idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        stopping.Cancel();
        socket?.Dispose();
        try
        {
            acceptLoop?.Wait();
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation; nothing else to report.
        }
    }

    /// <summary>An accepted socket on its way to a loop: adopted there, or closed if that loop is torn down first.</summary>
    private sealed class Adoption(Connection listener, Socket socket) : ILoopWorkItem, IDisposable
    {
        public void Run() => listener.Manager.Adopt(listener, socket);

        public void Dispose() => socket.Dispose();
    }
}
