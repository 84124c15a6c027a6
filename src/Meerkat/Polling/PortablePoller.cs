using System.Net;
using System.Net.Sockets;

namespace Meerkat.Polling;

/// <summary>
/// The portable backend: <c>Socket.Select</c>, level-triggered, rebuilt on every wait
/// from what each connection wants. The wakeup channel is a loopback UDP socket that sends to
/// itself. Not fast, but it runs everywhere .NET does and passes the same tests as epoll.
/// </summary>
internal sealed class PortablePoller : Poller
{
    private readonly List<Connection> watched = [];
    private readonly Dictionary<Socket, Connection> bySocket = [];
    private readonly List<Socket> readList = [];
    private readonly List<Socket> writeList = [];
    private readonly List<Socket> errorList = [];
    private readonly Socket wakeSocket;
    private readonly byte[] wakeBuffer = new byte[64];

    public PortablePoller()
    {
        wakeSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        wakeSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        wakeSocket.Connect(wakeSocket.LocalEndPoint!);
        wakeSocket.Blocking = false;
    }

    public override void Add(Connection connection)
    {
        connection.PollerSlot = watched.Count;
        watched.Add(connection);
        bySocket[connection.Socket!] = connection;
    }

    public override void Remove(Connection connection)
    {
        int slot = connection.PollerSlot;
        if (slot < 0) return;
        var last = watched[^1];
        watched[slot] = last;
        last.PollerSlot = slot;
        watched.RemoveAt(watched.Count - 1);
        bySocket.Remove(connection.Socket!);
        connection.PollerSlot = -1;
    }

    public override void Wait(int timeoutMs, List<Connection> ready)
    {
        readList.Clear();
        writeList.Clear();
        errorList.Clear();
        readList.Add(wakeSocket);
        foreach (var connection in watched)
        {
            if (connection.WantsRead) readList.Add(connection.Socket!);
            if (connection.WantsWrite)
            {
                writeList.Add(connection.Socket!);
                errorList.Add(connection.Socket!);
            }
        }
        // Select takes microseconds; -1 waits forever.
        Socket.Select(readList, writeList.Count > 0 ? writeList : null, errorList.Count > 0 ? errorList : null,
            timeoutMs < 0 ? -1 : (int)Math.Min(timeoutMs * 1000L, int.MaxValue));
        foreach (var socket in readList)
        {
            if (socket == wakeSocket) { DrainWake(); continue; }
            var connection = bySocket[socket];
            connection.ReadReady = true;
            connection.MarkReady(ready);
        }
        MarkWritable(writeList, ready);
        MarkWritable(errorList, ready);
    }

    protected override void Signal()
    {
        wakeSocket.Send(wakeBuffer.AsSpan(0, 1), SocketFlags.None, out _);
    }

    public override void Dispose() => wakeSocket.Dispose();

    private void MarkWritable(List<Socket> sockets, List<Connection> ready)
    {
        foreach (var socket in sockets)
        {
            var connection = bySocket[socket];
            connection.WriteReady = true;
            connection.MarkReady(ready);
        }
    }

    private void DrainWake()
    {
        // Drain, then clear the flag: see EpollPoller.DrainWake for why the other order loses wakeups.
        while (wakeSocket.Receive(wakeBuffer, SocketFlags.None, out var error) > 0 && error == SocketError.Success) { }
        WakeDrained();
    }
}
