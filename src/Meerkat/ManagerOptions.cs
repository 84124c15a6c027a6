namespace Meerkat;

/// <summary>Which readiness backend a <see cref="Manager"/> uses.</summary>
public enum PollerBackend
{
    /// <summary>epoll on Linux, the portable backend elsewhere. The environment variable
    /// <c>MEERKAT_BACKEND</c> (<c>epoll</c> or <c>portable</c>) overrides it.</summary>
    Auto,
    /// <summary>Linux epoll through direct libc calls, edge-triggered.</summary>
    Epoll,
    /// <summary><c>Socket.Select</c> on every platform.</summary>
    Portable,
    /// <summary>No sockets: an in-memory network with a virtual clock (Meerkat.Testing's
    /// <c>VirtualNetwork</c>, whose <c>CreateManager</c> makes such managers). Reported by
    /// <see cref="Manager.Backend"/>; asking for it in <see cref="ManagerOptions.Backend"/> is an error.</summary>
    Virtual,
}

/// <summary>Settings of a <see cref="Manager"/>. Every limit has a safe default.</summary>
public sealed class ManagerOptions
{
    /// <summary>The readiness backend. Default <see cref="PollerBackend.Auto"/>.</summary>
    public PollerBackend Backend { get; set; } = PollerBackend.Auto;

    /// <summary>On Linux with the epoll backend, the socket reads of one loop iteration go to the kernel
    /// in one io_uring submission, and so do its writes, instead of one system call per socket (each
    /// operation non-blocking and complete when the submission returns; reads and writes over 16 KiB
    /// still go alone). Where io_uring is unavailable or forbidden the loop falls back to one call per
    /// socket by itself. Default true; false for one call per socket always.</summary>
    public bool BatchSocketCalls { get; set; } = true;

    /// <summary>Initial size of a receive buffer, in bytes; it grows geometrically. Default 16 KiB.</summary>
    public int ReceiveBufferSize { get; set; } = 16 * 1024;

    /// <summary>Largest receive buffer, in bytes. When it is full of unconsumed bytes, reading
    /// pauses until the application consumes some. Default 1 MiB.</summary>
    public int MaxReceiveBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Send-buffer size above which the connection stops reading (backpressure) and
    /// <see cref="Connection.IsWritable"/> is false. Default 1 MiB.</summary>
    public int SendHighWaterMark { get; set; } = 1024 * 1024;

    /// <summary>Largest send buffer, in bytes: <see cref="Connection.Send"/> refuses data beyond it.
    /// Default 64 MiB.</summary>
    public int MaxSendBufferSize { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most connections (accepted plus outbound) at once; further accepted sockets are
    /// closed at once. Default 10,000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>How long an outbound connection may take to resolve and connect. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long resolving a host name may take before the connection fails with a
    /// <see cref="TimeoutException"/> naming the host. Default 10 s (within <see cref="ConnectTimeout"/>).</summary>
    public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Happy Eyeballs' connection attempt delay (RFC 8305 §5): while an attempt has not
    /// connected, the next resolved address is tried after this long (at once when an attempt
    /// fails). Between 10 ms and 2 s. Default 250 ms.</summary>
    public TimeSpan ConnectionAttemptDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Resolves host names of outbound connections. Default null: the system resolver
    /// (<see cref="System.Net.Dns"/>). IP literals and <c>localhost</c> are never passed to it.</summary>
    public HostResolver? Resolver { get; set; }

    /// <summary>The resolver of one address family, asked twice (AAAA, then A) when <see cref="Resolver"/>
    /// is null (RFC 8305 §3). Null: <see cref="System.Net.Dns.GetHostAddressesAsync(string, System.Net.Sockets.AddressFamily, CancellationToken)"/>.
    /// Internal: the tests' way to answer each family when they choose.</summary>
    internal Func<string, System.Net.Sockets.AddressFamily, CancellationToken, Task<System.Net.IPAddress[]>>? FamilyResolver { get; set; }

    /// <summary>How long a draining connection reads and discards after half-closing, waiting for
    /// the peer to close, before it closes anyway. Default 2 s.</summary>
    public TimeSpan LingerTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Check the lifecycle contract at run time and throw
    /// <see cref="LifecycleViolationException"/> from <see cref="Manager.Poll"/> when it breaks.
    /// Default off; on when the environment variable <c>MEERKAT_CHECK_INVARIANTS</c> is <c>1</c>.</summary>
    public bool CheckInvariants { get; set; } = Environment.GetEnvironmentVariable("MEERKAT_CHECK_INVARIANTS") == "1";

    /// <summary>Receives what an operator needs to know (listening, a handler that threw, a limit hit,
    /// shutdown), with the severity, a stable event name and the connection id. Nothing is logged on
    /// the hot path. Default null: nothing is logged.</summary>
    public LogHandler? Log { get; set; }

    /// <summary>The least severity passed to <see cref="Log"/>. Default <see cref="LogSeverity.Information"/>.</summary>
    public LogSeverity MinimumLogSeverity { get; set; } = LogSeverity.Information;

    /// <summary>The loop's clock (<see cref="Manager.Time"/>): every timer and deadline of the manager
    /// and its protocols runs on it. Default null: the system's monotonic clock. A test passes a
    /// clock it advances itself (Meerkat.Testing's <c>VirtualNetwork.Clock</c>) to run minutes of
    /// protocol time in milliseconds.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Makes the readiness backend instead of <see cref="Backend"/>: Meerkat.Testing's
    /// virtual network plugs in here.</summary>
    internal Func<Manager, Polling.Poller>? VirtualBackend { get; set; }

    /// <summary>Where the manager's instruments come from (docs/observability.md): an
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/>, typically the one dependency injection
    /// provides, creates the <c>Meerkat</c> Meter. Default null: the process-wide <c>Meerkat</c> Meter,
    /// which any <see cref="System.Diagnostics.Metrics.MeterListener"/>, the OpenTelemetry SDK and
    /// <c>dotnet-counters</c> see. Either way nothing is measured, and nothing costs, until a listener
    /// enables an instrument.</summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    internal void Validate()
    {
        Require(Backend != PollerBackend.Virtual || VirtualBackend is not null,
            "PollerBackend.Virtual is made by Meerkat.Testing (VirtualNetwork.CreateManager), not chosen in ManagerOptions");
        Require(ReceiveBufferSize > 0 && ReceiveBufferSize <= MaxReceiveBufferSize, "ReceiveBufferSize must be positive and at most MaxReceiveBufferSize");
        Require(SendHighWaterMark > 0 && SendHighWaterMark <= MaxSendBufferSize, "SendHighWaterMark must be positive and at most MaxSendBufferSize");
        Require(MaxConnections > 0, "MaxConnections must be positive");
        Require(ConnectTimeout > TimeSpan.Zero, "ConnectTimeout must be positive");
        Require(ResolveTimeout > TimeSpan.Zero, "ResolveTimeout must be positive");
        Require(ConnectionAttemptDelay >= TimeSpan.FromMilliseconds(10) && ConnectionAttemptDelay <= TimeSpan.FromSeconds(2),
            "ConnectionAttemptDelay must be between 10 ms and 2 s (RFC 8305 §5)");
        Require(LingerTimeout >= TimeSpan.Zero, "LingerTimeout must not be negative");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
