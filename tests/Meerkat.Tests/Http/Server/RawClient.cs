using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Meerkat.Tests.Http.Server;

/// <summary>A blocking raw-socket HTTP peer, run off the loop thread.</summary>
internal static class RawClient
{
    /// <summary>Sends each piece in order, then reads until the server closes.</summary>
    public static Task<string> ExchangeAsync(int port, params string[] pieces) => Task.Run(() =>
    {
        using var socket = Connect(port);
        foreach (var piece in pieces) socket.Send(Encoding.Latin1.GetBytes(piece));
        return ReadToEnd(socket);
    });

    public static Socket Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 20_000 };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    public static string ReadToEnd(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0) all.Write(buffer, 0, n);
        return Encoding.Latin1.GetString(all.ToArray());
    }

    /// <summary>Reads until <paramref name="text"/> has appeared <paramref name="count"/> times.</summary>
    public static string ReadUntil(Socket socket, string text, int count = 1)
    {
        var all = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (Occurrences(all.ToString(), text) < count)
        {
            int n = socket.Receive(buffer);
            if (n == 0) break;
            all.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }
        return all.ToString();
    }

    public static int Occurrences(string haystack, string needle)
    {
        int count = 0;
        for (int at = haystack.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = haystack.IndexOf(needle, at + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
