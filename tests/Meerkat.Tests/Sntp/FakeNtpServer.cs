using System.Net;
using System.Net.Sockets;
using Meerkat.Sntp;

namespace Meerkat.Tests.Sntp;

/// <summary>
/// A scripted NTP server on a loopback UDP socket, for what a real server will not do on demand:
/// Kiss-o'-Death, replies with a foreign origin, silence. The script gets each request (and its
/// number, from 0) and returns the datagrams to send back, in order.
/// </summary>
internal sealed class FakeNtpServer : IDisposable
{
    private readonly Socket socket;
    private readonly CancellationTokenSource stop = new();
    private readonly Func<NtpPacket, int, IEnumerable<NtpPacket>> script;
    private readonly List<NtpPacket> requests = [];
    private readonly Task loop;

    public FakeNtpServer(Func<NtpPacket, int, IEnumerable<NtpPacket>> script, IPAddress? address = null)
    {
        this.script = script;
        address ??= IPAddress.Loopback;
        socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
        loop = Task.Run(ServeAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>host:port, as Sntp.Query takes it.</summary>
    public string Server => EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{EndPoint.Address}]:{EndPoint.Port}" : $"{EndPoint.Address}:{EndPoint.Port}";

    public IReadOnlyList<NtpPacket> Requests
    {
        get { lock (requests) return [.. requests]; }
    }

    /// <summary>Waits until <paramref name="count"/> requests have arrived (the server's receive task
    /// may lag behind a client that already gave up); false when <paramref name="timeout"/> passes first.</summary>
    public bool WaitForRequests(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (requests)
        {
            while (requests.Count < count)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(requests, left)) return requests.Count >= count;
            }
            return true;
        }
    }

    /// <summary>A good reply to <paramref name="request"/>, stamped with this machine's clock.</summary>
    public static NtpPacket Answer(NtpPacket request)
    {
        var now = NtpTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        return new NtpPacket
        {
            Version = request.Version,
            Mode = NtpMode.Server,
            Stratum = 3,
            Precision = -20,
            ReferenceId = 0xC000_0201,
            Reference = now,
            Origin = request.Transmit,
            Receive = now,
            Transmit = now,
        };
    }

    public static NtpPacket Kiss(NtpPacket request, string code) => new()
    {
        LeapIndicator = NtpLeapIndicator.Unsynchronized,
        Version = request.Version,
        Mode = NtpMode.Server,
        ReferenceId = NtpPacket.KissCodeId(code),
        Origin = request.Transmit,
        Transmit = request.Transmit,
    };

    public void Dispose()
    {
        stop.Cancel();
        socket.Dispose();
        try
        {
            loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ended on the closed socket.
        }
        stop.Dispose();
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[1024];
        var reply = new byte[NtpPacket.Size];
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(EndPoint.Address, 0), stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (!NtpPacket.TryRead(buffer.AsSpan(0, received.ReceivedBytes), out var request)) continue;
            int index;
            lock (requests)
            {
                index = requests.Count;
                requests.Add(request);
                Monitor.PulseAll(requests);
            }
            foreach (var packet in script(request, index))
            {
                packet.Write(reply);
                await socket.SendToAsync(reply, SocketFlags.None, received.RemoteEndPoint);
            }
        }
    }
}
