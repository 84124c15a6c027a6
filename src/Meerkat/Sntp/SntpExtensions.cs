using System.Net;

namespace Meerkat.Sntp;

/// <summary>
/// SNTP queries (RFC 4330, RFC 5905 client mode) over a <see cref="Manager"/>'s UDP connections,
/// as extension members on the manager: the local clock's offset from a time server and the
/// round-trip delay.
/// </summary>
/// <example>
/// <code>
/// using var manager = new Manager();
/// _ = manager.RunAsync();
/// var answer = await manager.QuerySntpAsync("pool.ntp.org");
/// Console.WriteLine($"offset {answer.Offset.TotalMilliseconds} ms, delay {answer.RoundTripDelay.TotalMilliseconds} ms");
/// </code>
/// </example>
public static class SntpExtensions
{
    /// <summary>The NTP port.</summary>
    public const int DefaultPort = 123;

    extension(Manager manager)
    {
        /// <summary>Queries <paramref name="server"/> on the loop (call on the loop thread, or before it
        /// runs). The host name is resolved like any outbound connection's (Happy Eyeballs picks the
        /// first address that takes a UDP socket). Requests are retried with backoff per
        /// <paramref name="options"/>; <paramref name="callback"/> is called exactly once, on the loop
        /// thread, then the connection closes.</summary>
        /// <param name="server"><c>host</c>, <c>host:port</c>, <c>[ipv6]:port</c> or a bare IPv6 address; the port defaults to 123.</param>
        /// <param name="callback">Receives the answer or the error; it must not throw.</param>
        /// <param name="options">Timeouts and attempts; null for the defaults.</param>
        /// <returns>The query's UDP connection: close it to abandon the query (the callback then
        /// receives an <see cref="OperationCanceledException"/>). It raises no event to a user handler.</returns>
        /// <exception cref="ArgumentException">The server address or an option is malformed.</exception>
        public Connection QuerySntp(string server, SntpCallback callback, SntpOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(manager);
            ArgumentNullException.ThrowIfNull(callback);
            var address = ParseServer(server);
            options ??= SntpOptions.Default;
            options.Validate();
            return manager.Connect(address, datagram: true, handler: null, new SntpProtocol(server, options, callback));
        }

        /// <summary>Queries <paramref name="server"/>; callable from any thread. The manager's loop must
        /// be running (<see cref="Manager.RunAsync"/>) or be polled by its owner.</summary>
        /// <returns>The answer. Faults with <see cref="TimeoutException"/> when no answer came in time,
        /// <see cref="SntpException"/> for a Kiss-o'-Death, <see cref="MeerkatException"/> for a network
        /// failure; cancelled when <paramref name="cancellationToken"/> is.</returns>
        /// <exception cref="ArgumentException">The server address or an option is malformed.</exception>
        public Task<SntpResult> QuerySntpAsync(string server, SntpOptions? options = null, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(manager);
            ParseServer(server);
            (options ?? SntpOptions.Default).Validate();
            var completion = new TaskCompletionSource<SntpResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<SntpResult>(cancellationToken);
            Connection? connection = null;
            var registration = cancellationToken.Register(() =>
            {
                if (!completion.TrySetCanceled(cancellationToken)) return;
                try
                {
                    manager.Post(() => connection?.Close());
                }
                catch (ObjectDisposedException)
                {
                    // The manager is gone, and the query with it.
                }
            });
            // A manager disposed before the posted start runs drops it: the query fails then instead
            // of never completing.
            Action disposing = () => completion.TrySetException(new ObjectDisposedException(nameof(Manager), "the manager was disposed before the SNTP query ended"));
            manager.Disposing += disposing;
            _ = completion.Task.ContinueWith(_ => { manager.Disposing -= disposing; registration.Dispose(); },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                manager.Post(() =>
                {
                    if (completion.Task.IsCompleted) return;
                    connection = manager.QuerySntp(server, (result, error) =>
                    {
                        if (result is not null) completion.TrySetResult(result);
                        else completion.TrySetException(error!);
                    }, options);
                });
            }
            catch (ObjectDisposedException ex)
            {
                completion.TrySetException(ex);
            }
            return completion.Task;
        }

        /// <summary>Asks <paramref name="server"/> now and then again and again (call on the loop
        /// thread): every <paramref name="interval"/> while it answers (at least 15 s, RFC 4330 §10),
        /// backing off (doubling) when it does not answer or sends a <c>RATE</c> kiss, and stopping
        /// for good on <c>DENY</c> or <c>RSTR</c> (see <see cref="SntpPollSchedule"/>).
        /// <paramref name="callback"/> gets every query's outcome on the loop thread.</summary>
        /// <returns>The poller: its schedule, and <see cref="SntpPoller.Stop"/>.</returns>
        /// <exception cref="ArgumentException">The server address or an option is malformed.</exception>
        /// <exception cref="ArgumentOutOfRangeException">The interval is below 15 s.</exception>
        public SntpPoller StartSntpPolling(string server, TimeSpan interval, SntpCallback callback, SntpOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(callback);
            ParseServer(server);
            (options ?? SntpOptions.Default).Validate();
            var poller = new SntpPoller(manager, server, new SntpPollSchedule(interval), options, callback);
            poller.Start();
            return poller;
        }
    }

    /// <summary>Reads <c>host[:port]</c>, <c>[ipv6][:port]</c> or a bare IPv6 address.</summary>
    internal static NetworkAddress ParseServer(string server)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(server);
        if (server.Contains("://", StringComparison.Ordinal))
            throw new ArgumentException($"'{server}': give the SNTP server as host[:port], without a scheme", nameof(server));
        if (IPAddress.TryParse(server, out var literal) && literal.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !server.StartsWith('['))
            return new NetworkAddress("udp", literal.ToString(), DefaultPort);
        return NetworkAddress.Parse($"udp://{server}", DefaultPort);
    }
}
