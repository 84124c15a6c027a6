using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Meerkat.Testing;

/// <summary>
/// A deterministic in-memory network with a virtual clock. Managers made by
/// <see cref="CreateManager"/> run the ordinary Meerkat API (<c>Listen</c>, <c>Connect</c>, the HTTP
/// server and client, WebSockets) over in-memory byte pipes instead of sockets, on the calling
/// thread, with every timer and deadline on <see cref="Clock"/>; <see cref="RunUntil"/> drives them,
/// jumping the clock to the next thing due. The same seed and the same test give the same
/// <see cref="Trace"/>, byte for byte.
/// </summary>
/// <remarks>
/// <para>Names: a listener on <c>tcp://server.test:80</c> makes <c>server.test</c> resolvable (use
/// RFC 6761 <c>.test</c> names); IP literals work as well. A name nobody listens on fails to
/// resolve; a port nobody listens on refuses the connection.</para>
/// <para>Faults: <see cref="Upstream"/> and <see cref="Downstream"/> (or <see cref="RandomFaults"/>)
/// shape each new connection's bytes (<see cref="LinkFaults"/>); <see cref="FailResolve"/>,
/// <see cref="Refuse"/>, <see cref="JumpClock"/> and listener backlogs (<c>ListenOptions.Backlog</c>)
/// script the rest. Everything runs on one thread: do not call <see cref="Manager.Run"/>.</para>
/// </remarks>
public sealed class VirtualNetwork : IDisposable
{
    private const int MaxIterationsPerInstant = 100_000;

    private readonly List<VirtualHost> hosts = [];
    private readonly Dictionary<string, IPAddress> names = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<(IPAddress, int), VirtualListener> listeners = [];
    private readonly HashSet<string> unresolvable = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<(string, int)> refused = [];
    private readonly PriorityQueue<Action?, (long At, long Sequence)> scheduled = new();
    private readonly Dictionary<long, string> connectionNames = [];
    private readonly List<string> trace = [];
    private long sequence;
    private int iterationsAtInstant;
    private int nextAddress = 1;
    private bool disposed;

    /// <summary>Makes a network whose random choices (split sizes, <see cref="RandomFaults"/>) come from <paramref name="seed"/>.</summary>
    public VirtualNetwork(int seed = 0)
    {
        Seed = seed;
        Random = new Random(seed);
    }

    /// <summary>The seed of every random choice.</summary>
    public int Seed { get; }

    /// <summary>The virtual clock of every manager on this network.</summary>
    public VirtualClock Clock { get; } = new();

    /// <summary>Virtual time since the network was made.</summary>
    public TimeSpan Elapsed => Clock.Elapsed;

    /// <summary>Faults of the client-to-server direction of connections made from now on.</summary>
    public LinkFaults Upstream { get; set; } = LinkFaults.None;

    /// <summary>Faults of the server-to-client direction of connections made from now on.</summary>
    public LinkFaults Downstream { get; set; } = LinkFaults.None;

    /// <summary>Draw each new connection's faults, both directions, from the seed
    /// (<see cref="LinkFaults.Random"/>) instead of <see cref="Upstream"/> and <see cref="Downstream"/>.</summary>
    public bool RandomFaults { get; set; }

    /// <summary>How long a name takes to resolve. Default zero.</summary>
    public TimeSpan ResolveDelay { get; set; }

    /// <summary>Keep the lines of <see cref="Trace"/> (the digest is kept either way). Default true.</summary>
    public bool KeepTrace { get; set; } = true;

    /// <summary>Every event raised on every manager (but <see cref="EventKind.Poll"/>) and every
    /// network fault, one line each: virtual microseconds, host, connection, what happened.</summary>
    public IReadOnlyList<string> Trace => trace;

    /// <summary>Events raised so far on all managers (<see cref="EventKind.Poll"/> included).</summary>
    public long EventCount { get; private set; }

    private readonly IncrementalHash digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    internal Random Random { get; }

    /// <summary>Makes a manager on host <paramref name="hostName"/> (it gets an address of its own,
    /// and the name resolves to it). The options are used as given, with the virtual clock and backend.</summary>
    public Manager CreateManager(string hostName = "host.test", ManagerOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        var host = new VirtualHost(hostName, AddressOf(hostName));
        options ??= new ManagerOptions();
        options.TimeProvider = Clock;
        options.Backend = PollerBackend.Virtual;
        options.VirtualBackend = _ => host.Backend = new VirtualNetworkBackend(this, host);
        var manager = new Manager(options);
        host.Manager = manager;
        manager.Observer = (connection, e) => Observe(host, connection, e);
        hosts.Add(host);
        return manager;
    }

    /// <summary>Makes resolving <paramref name="host"/> fail, as a name server would.</summary>
    public void FailResolve(string host) => unresolvable.Add(host);

    /// <summary>Makes connections to <paramref name="host"/>:<paramref name="port"/> refused even
    /// while something listens there.</summary>
    public void Refuse(string host, int port) => refused.Add((host, port));

    /// <summary>A time jump: the clock moves <paramref name="span"/> forward at once (a suspended
    /// laptop, a stalled VM); timers that fell due meanwhile fire on the next step.</summary>
    public void JumpClock(TimeSpan span)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(span, TimeSpan.Zero);
        Clock.Advance(span);
        Note($"clock jumped {span.TotalSeconds:0.######} s");
    }

    /// <summary>Runs one iteration of every manager when any has something to do now; else moves
    /// the clock to the next timer or delivery. False when nothing is left to happen at all.</summary>
    /// <exception cref="InvalidOperationException">The managers keep working without time moving (a livelock).</exception>
    public bool Step() => Step(long.MaxValue);

    /// <summary>Steps until <paramref name="condition"/> holds; false when <paramref name="timeout"/>
    /// of virtual time passed first, or nothing was left to happen.</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        long deadline = Clock.After(timeout);
        while (!condition())
        {
            if (Clock.GetTimestamp() >= deadline) return false;
            if (!Step(deadline)) return condition();
        }
        return true;
    }

    /// <summary>Runs for <paramref name="duration"/> of virtual time.</summary>
    public void RunFor(TimeSpan duration)
    {
        long deadline = Clock.After(duration);
        while (Step(deadline))
        {
            if (Clock.GetTimestamp() >= deadline && !HasWorkNow()) break;
        }
        Clock.AdvanceTo(deadline);
    }

    /// <summary>The SHA-256 of the trace so far, in hex: equal for equal runs.</summary>
    public string TraceDigest() => finalDigest ?? Convert.ToHexStringLower(digest.GetCurrentHash());

    private string? finalDigest;

    /// <summary>Disposes every manager (their connections close) in the order they were made.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        List<Exception>? errors = null;
        foreach (var host in hosts)
        {
            try
            {
                host.Manager.Dispose();
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }
        finalDigest = TraceDigest();
        digest.Dispose();
        if (errors is not null) throw new AggregateException("disposing the virtual network's managers failed", errors);
    }

    // ------------------------------------------------------------------ driver

    private bool Step(long deadline)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        RunDueActions();
        if (HasWorkNow())
        {
            if (++iterationsAtInstant > MaxIterationsPerInstant)
                throw new InvalidOperationException($"the managers ran {MaxIterationsPerInstant} iterations at {Clock.Elapsed} without time moving: a livelock");
            foreach (var host in hosts) host.Manager.Poll(0);
            RunDueActions();
            return true;
        }
        iterationsAtInstant = 0;
        long next = long.MaxValue;
        if (scheduled.TryPeek(out _, out var first)) next = first.At;
        foreach (var host in hosts)
            if (host.Manager.NextTimerDue is { } due && due < next) next = due;
        if (next == long.MaxValue) return false;
        Clock.AdvanceTo(Math.Min(next, deadline));
        return true;
    }

    private bool HasWorkNow()
    {
        if (scheduled.TryPeek(out _, out var first) && first.At <= Clock.GetTimestamp()) return true;
        foreach (var host in hosts)
        {
            if (host.Manager.HasPendingWork || host.Backend.HasReady()) return true;
            if (host.Manager.NextTimerDue is { } due && due <= Clock.GetTimestamp()) return true;
        }
        return false;
    }

    private void RunDueActions()
    {
        long now = Clock.GetTimestamp();
        while (scheduled.TryPeek(out _, out var first) && first.At <= now)
            scheduled.Dequeue()?.Invoke();
    }

    /// <summary>Runs <paramref name="action"/> (network work, never a manager's) at <paramref name="at"/>.</summary>
    internal void At(long at, Action? action) => scheduled.Enqueue(action, (at, sequence++));

    /// <summary>Makes sure the driver looks again at <paramref name="at"/> (a segment arrives).</summary>
    internal void WakeAt(long at) => At(at, null);

    /// <summary>Hands <paramref name="action"/> to <paramref name="manager"/>'s loop (its next posted-work phase).</summary>
    private static void PostTo(Manager manager, Action action)
    {
        try
        {
            manager.Post(action);
        }
        catch (ObjectDisposedException)
        {
            // The manager is gone and its connections with it.
        }
    }

    // ------------------------------------------------------------------ names, listeners, connects

    private IPAddress AddressOf(string name)
    {
        if (IPAddress.TryParse(name, out var literal)) return literal;
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        if (names.TryGetValue(name, out var known)) return known;
        var address = new IPAddress([10, 0, (byte)(nextAddress / 250), (byte)(nextAddress % 250 + 1)]);
        nextAddress++;
        names[name] = address;
        return address;
    }

    private IPAddress? Resolve(string name)
    {
        if (unresolvable.Contains(name)) return null;
        if (IPAddress.TryParse(name, out var literal)) return literal;
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        return names.TryGetValue(name, out var address) ? address : null;
    }

    internal VirtualListener Bind(VirtualHost host, string hostName, int port, int backlog)
    {
        var address = AddressOf(hostName);
        if (port == 0)
        {
            port = 40000;
            while (listeners.ContainsKey((address, port))) port++;
        }
        if (listeners.ContainsKey((address, port))) throw new SocketException((int)SocketError.AddressAlreadyInUse);
        var listener = new VirtualListener(this, new IPEndPoint(address, port), hostName, backlog);
        listeners[(address, port)] = listener;
        Note($"{host.Name} listens on {hostName}:{port}");
        return listener;
    }

    internal void Unbind(VirtualListener listener) => listeners.Remove((listener.LocalEndPoint.Address, listener.LocalEndPoint.Port));

    private VirtualListener? Find(IPAddress address, int port)
    {
        if (listeners.TryGetValue((address, port), out var exact)) return exact;
        var any = address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        return listeners.GetValueOrDefault((any, port));
    }

    internal void StartConnect(VirtualHost host, Connection connection)
    {
        var up = RandomFaults ? LinkFaults.Random(Random) : Upstream;
        var down = RandomFaults ? LinkFaults.Random(Random) : Downstream;
        string name = connection.Host!;
        int port = connection.Port;
        var manager = host.Manager;
        At(Clock.After(ResolveDelay), () =>
        {
            if (Resolve(name) is not { } address)
            {
                Note($"{host.Name} cannot resolve {name}");
                PostTo(manager, () => manager.Fail(connection, new MeerkatException($"cannot resolve host '{name}': no such host on the virtual network")));
                return;
            }
            var remote = new IPEndPoint(address, port);
            PostTo(manager, () => manager.OnVirtualResolved(connection, remote));
            var local = new IPEndPoint(host.Address, host.NextPort());
            At(Clock.After(up.Latency), () => Arrive(host, connection, name, remote, local, up, down, TimeSpan.FromSeconds(1)));
        });
    }

    /// <summary>The connection's SYN reaches <paramref name="remote"/>: refused, dropped (backlog
    /// full: the client retries with a doubling delay, as TCP does) or queued for accept.</summary>
    private void Arrive(VirtualHost host, Connection connection, string name, IPEndPoint remote, IPEndPoint local, LinkFaults up, LinkFaults down, TimeSpan retry)
    {
        if (connection.State >= ConnectionState.Closing) return;
        var manager = host.Manager;
        var listener = Find(remote.Address, remote.Port);
        if (listener is null || listener.IsClosed || refused.Contains((name, remote.Port)))
        {
            Note($"{host.Name} connect to {name}:{remote.Port} refused");
            At(Clock.After(down.Latency), () => PostTo(manager, () =>
                manager.Fail(connection, Transport.Error($"connect to {remote} failed", SocketError.ConnectionRefused))));
            return;
        }
        if (listener.IsFull)
        {
            Note($"{host.Name} connect to {name}:{remote.Port}: backlog full, SYN dropped, retry in {retry.TotalSeconds:0} s");
            At(Clock.After(retry), () => Arrive(host, connection, name, remote, local, up, down, retry * 2));
            return;
        }
        string id = $"{local.Port}";
        var toServer = new Flow(this, up, $"{host.Name}:{id}>{name}:{remote.Port}");
        var toClient = new Flow(this, down, $"{name}:{remote.Port}>{host.Name}:{id}") { Reverse = toServer };
        toServer.Reverse = toClient;
        listener.Enqueue(new VirtualEnd(this, toServer, toClient, listener.LocalEndPoint, local));
        var clientEnd = new VirtualEnd(this, toClient, toServer, local, remote);
        At(Clock.After(down.Latency), () => PostTo(manager, () => manager.OnVirtualConnected(connection, clientEnd)));
    }

    /// <summary>Resets the connection <paramref name="flow"/> belongs to, both ways, at <paramref name="at"/>.</summary>
    internal void ResetLink(Flow flow, long at, string reason)
    {
        if (flow.ResetAt != long.MaxValue) return;
        Note($"{flow.Name} reset: {reason}");
        flow.Reset(at);
        flow.Reverse?.Reset(at);
    }

    // ------------------------------------------------------------------ trace

    internal void Note(string text) => Append($"{Micros()} net {text}");

    private void Observe(VirtualHost host, Connection connection, Event e)
    {
        EventCount++;
        if (e.Kind == EventKind.Poll || connection.Role == ConnectionRole.Internal) return;
        if (!connectionNames.TryGetValue(connection.Id, out var name))
        {
            name = $"c{connectionNames.Count + 1}";
            connectionNames[connection.Id] = name;
        }
        string detail = e.Kind switch
        {
            EventKind.Read or EventKind.Wakeup or EventKind.HttpBody or EventKind.WsMessage => e.Data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            EventKind.Write or EventKind.HttpDone => e.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            EventKind.Error => e.Error?.GetType().Name ?? "",
            _ => "",
        };
        Append($"{Micros()} {host.Name} {name} {e.Kind} {detail}");
    }

    private string Micros() => (Clock.Elapsed.Ticks / 10)
        .ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void Append(string line)
    {
        if (finalDigest is not null) return;
        digest.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
        if (KeepTrace) trace.Add(line);
    }
}
