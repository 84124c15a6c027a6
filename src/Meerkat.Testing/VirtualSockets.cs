using System.Net;
using System.Net.Sockets;
using Meerkat.Polling;

namespace Meerkat.Testing;

/// <summary>One end of a virtual TCP connection: reads its inbound flow, writes its outbound flow.</summary>
internal sealed class VirtualEnd(VirtualNetwork network, Flow inbound, Flow outbound, IPEndPoint local, IPEndPoint remote) : VirtualSocket
{
    private bool closed;

    public Flow Inbound => inbound;

    public Flow Outbound => outbound;

    public override IPEndPoint LocalEndPoint => local;

    public override IPEndPoint? RemoteEndPoint => remote;

    public override VirtualSocket? Accept() => null;

    public override int Receive(Span<byte> buffer, out SocketError error)
    {
        int n = inbound.Read(buffer);
        error = n switch { -1 => SocketError.WouldBlock, -2 => SocketError.ConnectionReset, _ => SocketError.Success };
        return Math.Max(n, 0);
    }

    public override int Send(ReadOnlySpan<byte> data, out SocketError error)
    {
        if (outbound.IsReset || outbound.ReaderClosed)
        {
            error = SocketError.ConnectionReset;
            return 0;
        }
        if (outbound.WriterDone)
        {
            error = SocketError.Shutdown;
            return 0;
        }
        int n = outbound.Write(data);
        error = n == 0 && !data.IsEmpty ? SocketError.WouldBlock : SocketError.Success;
        return n;
    }

    public override void ShutdownSend() => outbound.End();

    /// <summary>Closes as a socket does: a FIN after the data in flight, or a reset when input was
    /// left unread (the peer then loses what it had not read yet).</summary>
    public override void Dispose()
    {
        if (closed) return;
        closed = true;
        bool unread = inbound.Buffered > 0;
        inbound.ReaderClosed = true;
        inbound.Discard();
        if (unread) network.ResetLink(outbound, network.Clock.GetTimestamp(), "closed with unread input");
        else outbound.End();
    }

    /// <summary>Readable: data, end of stream or a reset has arrived.</summary>
    public bool Readable => inbound.Readable;

    /// <summary>Writable: the outbound window has room (or the write would fail at once).</summary>
    public bool Writable => outbound.Writable || outbound.IsReset || outbound.ReaderClosed || outbound.WriterDone;
}

/// <summary>A listening virtual socket: connections wait in its backlog until accepted.</summary>
internal sealed class VirtualListener(VirtualNetwork network, IPEndPoint local, string host, int backlog) : VirtualSocket
{
    private readonly Queue<VirtualEnd> pending = new();

    public string Host => host;

    public bool IsClosed { get; private set; }

    public bool IsFull => pending.Count >= Math.Max(1, backlog);

    public bool Readable => pending.Count > 0;

    public override IPEndPoint LocalEndPoint => local;

    public override IPEndPoint? RemoteEndPoint => null;

    public void Enqueue(VirtualEnd end) => pending.Enqueue(end);

    public override VirtualSocket? Accept() => pending.TryDequeue(out var end) ? end : null;

    public override int Receive(Span<byte> buffer, out SocketError error)
    {
        error = SocketError.OperationNotSupported;
        return 0;
    }

    public override int Send(ReadOnlySpan<byte> data, out SocketError error)
    {
        error = SocketError.OperationNotSupported;
        return 0;
    }

    public override void ShutdownSend()
    {
    }

    public override void Dispose()
    {
        if (IsClosed) return;
        IsClosed = true;
        network.Unbind(this);
        while (pending.TryDequeue(out var end)) network.ResetLink(end.Outbound, network.Clock.GetTimestamp(), "listener closed with the connection in its backlog");
    }
}
