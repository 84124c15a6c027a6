using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Meerkat.Polling;

/// <summary>
/// Linux epoll, edge-triggered: each socket is registered once for input, output and peer
/// hang-up, and never modified again. The wakeup channel is an eventfd.
/// </summary>
/// <remarks>
/// A connection's slot index is the epoll token; slots are reused after removal. Because the
/// registration is edge-triggered, the loop must remember unread readiness itself: it does, in
/// <c>Connection.ReadReady</c>.
/// </remarks>
[SupportedOSPlatform("linux")]
internal sealed unsafe class EpollPoller : Poller
{
    private const ulong WakeToken = ulong.MaxValue;
    private const int MaxEvents = 256;

    private readonly int epollFd;
    private readonly int wakeFd;
    private readonly byte* events;
    private readonly List<Connection?> slots = [];
    private readonly Stack<int> freeSlots = new();

    public EpollPoller()
    {
        epollFd = Check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
        wakeFd = Check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        Control(Libc.EPOLL_CTL_ADD, wakeFd, Libc.EPOLLIN | Libc.EPOLLET, WakeToken);
        events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Libc.EpollEventSize));
    }

    public override void Add(Connection connection)
    {
        int slot = freeSlots.Count > 0 ? freeSlots.Pop() : AppendSlot();
        slots[slot] = connection;
        connection.PollerSlot = slot;
        uint interest = Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLET;
        if (connection.Role != ConnectionRole.Listener) interest |= Libc.EPOLLOUT;
        Control(Libc.EPOLL_CTL_ADD, Transport.DescriptorOf(connection), interest, (ulong)slot);
    }

    public override void Remove(Connection connection)
    {
        int slot = connection.PollerSlot;
        if (slot < 0) return;
        // Deleting can fail harmlessly if the socket already failed; the slot is freed regardless.
        Libc.epoll_ctl(epollFd, Libc.EPOLL_CTL_DEL, Transport.DescriptorOf(connection), null);
        slots[slot] = null;
        freeSlots.Push(slot);
        connection.PollerSlot = -1;
    }

    public override void Wait(int timeoutMs, List<Connection> ready)
    {
        int count = Libc.epoll_wait(epollFd, events, Math.Min(EventLimit, MaxEvents), timeoutMs);
        if (count < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR) return;
            throw new IOException($"epoll_wait failed: errno {errno}");
        }
        for (int i = 0; i < count; i++)
        {
            byte* entry = events + i * Libc.EpollEventSize;
            uint flags = *(uint*)entry;
            ulong token = *(ulong*)(entry + Libc.EpollDataOffset);
            if (token == WakeToken) { DrainWake(); continue; }
            var connection = slots[(int)token];
            if (connection is null) continue;
            if ((flags & (Libc.EPOLLIN | Libc.EPOLLHUP | Libc.EPOLLERR | Libc.EPOLLRDHUP)) != 0) connection.ReadReady = true;
            if ((flags & (Libc.EPOLLHUP | Libc.EPOLLERR | Libc.EPOLLRDHUP)) != 0) connection.PeerHangup = true;
            if ((flags & (Libc.EPOLLOUT | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0) connection.WriteReady = true;
            connection.MarkReady(ready);
        }
    }

    protected override void Signal()
    {
        ulong one = 1;
        Libc.write(wakeFd, (byte*)&one, sizeof(ulong));
    }

    public override void Dispose()
    {
        Libc.close(wakeFd);
        Libc.close(epollFd);
        NativeMemory.Free(events);
    }

    private void DrainWake()
    {
        // Read the eventfd first, then clear the flag. The other order loses wakeups for good: a
        // Wake between the two sees the flag clear, sets it and writes; the read swallows that
        // write, so no event ever reports it and the flag stays set, turning every later Wake into
        // a no-op (requests posted from other threads, Stop and Dispose then wait forever).
        // This order is safe: a Wake that finds the flag still set enqueued its work before, and
        // the loop drains its queues after this. Interlocked (a full fence) so the queue reads
        // that follow cannot move before the flag is cleared.
        ulong value;
        Libc.read(wakeFd, (byte*)&value, sizeof(ulong));
        WakeDrained();
    }

    private int AppendSlot()
    {
        slots.Add(null);
        return slots.Count - 1;
    }

    private void Control(int op, int fd, uint interest, ulong token)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = interest;
        *(ulong*)(ev + Libc.EpollDataOffset) = token;
        Check(Libc.epoll_ctl(epollFd, op, fd, ev), "epoll_ctl");
    }

    private static int Check(int result, string call) =>
        result >= 0 ? result : throw new IOException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
}
