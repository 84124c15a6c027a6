using System.Net.Sockets;

namespace Meerkat.Tests.Core;

/// <summary>Plain blocking sockets as the peers of a test's listener: the loop tests drive the manager on
/// the test thread, so a peer's reads run on tasks and its writes land before the next Poll.</summary>
internal static class LoopbackPeer
{
    /// <summary>Connects to <paramref name="listener"/> (Nagle off, reads time out after 30 s).</summary>
    public static Socket Connect(Connection listener, int receiveBuffer = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000 };
        if (receiveBuffer > 0) socket.ReceiveBufferSize = receiveBuffer;
        socket.Connect(listener.LocalEndPoint!);
        return socket;
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes; the stream ending first is an error that says how far it got.</summary>
    public static byte[] ReadExactly(Socket socket, int length)
    {
        var buffer = new byte[length];
        int total = 0;
        while (total < length)
        {
            int n = socket.Receive(buffer, total, length - total, SocketFlags.None);
            if (n == 0) throw new EndOfStreamException($"the echo ended after {total} of {length} bytes");
            total += n;
        }
        return buffer;
    }
}
