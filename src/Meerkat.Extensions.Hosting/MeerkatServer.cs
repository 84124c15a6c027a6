// How this file works: the hosted service. StartAsync makes the managers (one per loop), gives each
// the host's ILogger (through the log hook) and IMeterFactory, runs the builder's setups and HTTP
// listeners on it, then starts its loop on a thread of its own. StopAsync shuts them down
// gracefully (Manager.ShutdownAsync within ShutdownTimeout); if the host's own shutdown timeout
// runs out first (its token is cancelled), what is left is closed at once. Then the loops end and
// the managers are disposed.
using System.Diagnostics.Metrics;
using Meerkat.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Meerkat.Extensions.Hosting;

/// <summary>
/// The hosted service that runs Meerkat's managers, each on its own thread. Registered by
/// <c>AddMeerkat</c>; resolve it to read where it listens (<see cref="Addresses"/>) or reach its
/// managers (<see cref="Managers"/>; use <see cref="Manager.Post"/> from other threads).
/// </summary>
public sealed class MeerkatServer : IHostedService, IDisposable
{
    private const string DefaultUrl = "http://127.0.0.1:5000";

    private readonly MeerkatServerOptions options;
    private readonly MeerkatBuilder builder;
    private readonly IServiceProvider services;
    private readonly ILogger logger;
    private readonly IMeterFactory? meterFactory;
    private readonly List<Manager> managers = [];
    private readonly List<Task> loops = [];
    private readonly List<string> addresses = [];

    /// <summary>Created by dependency injection.</summary>
    public MeerkatServer(IOptions<MeerkatServerOptions> options, MeerkatBuilder builder, IServiceProvider services,
        ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.builder = builder;
        this.services = services;
        this.meterFactory = meterFactory;
        logger = loggerFactory?.CreateLogger("Meerkat") ?? NullLogger.Instance;
    }

    /// <summary>The running managers (empty before start and after stop).</summary>
    public IReadOnlyList<Manager> Managers => managers;

    /// <summary>The URLs listened on, with the ports actually bound (port 0 picks one).</summary>
    public IReadOnlyList<string> Addresses => addresses;

    /// <summary>Starts every loop; returns once all listen.</summary>
    /// <exception cref="System.Net.Sockets.SocketException">A URL cannot be bound; nothing is left running.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Loops < 1) throw new InvalidOperationException($"Meerkat:Loops must be at least 1, not {options.Loops}");
        var urls = options.Urls.Count > 0 ? options.Urls : [DefaultUrl];
        var bound = new List<string>(urls.Count);
        var http = HttpOptions();
        try
        {
            for (int i = 0; i < options.Loops; i++)
            {
                var manager = new Manager(ManagerOptionsFor());
                managers.Add(manager);
                foreach (var setup in builder.Setups) setup(manager, services);
                for (int h = 0; h < builder.HttpHandlers.Count; h++)
                {
                    var handler = builder.HttpHandlers[h](services);
                    for (int u = 0; u < urls.Count; u++)
                    {
                        // The first loop binds (port 0 picks a port); the others share what it bound.
                        string url = i == 0 ? urls[u] : bound[h * urls.Count + u];
                        var listener = manager.ListenHttp(url, handler, http, new ListenOptions { ReusePort = options.Loops > 1 });
                        if (i == 0) bound.Add(AddressOf(url, listener));
                    }
                }
            }
        }
        catch
        {
            foreach (var manager in managers) manager.Dispose();
            managers.Clear();
            throw;
        }
        addresses.AddRange(bound);
        foreach (var manager in managers) loops.Add(manager.RunAsync(CancellationToken.None));
        foreach (var address in addresses) logger.LogInformation("Now listening on: {Address}", address);
        logger.LogInformation("Meerkat started {Loops} loop(s)", managers.Count);
        return Task.CompletedTask;
    }

    /// <summary>Stops gracefully: listeners close, requests in flight finish within
    /// <see cref="MeerkatServerOptions.ShutdownTimeout"/> (or until <paramref name="cancellationToken"/>,
    /// the host's own timeout, is cancelled), then the loops end and the managers are disposed.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (managers.Count == 0) return;
        var shutdowns = managers.Select(m => m.ShutdownAsync(options.ShutdownTimeout)).ToArray();
        var all = Task.WhenAll(shutdowns);
        using (cancellationToken.Register(() => { foreach (var m in managers) m.Shutdown(TimeSpan.Zero); }))
            await all.ConfigureAwait(false);
        foreach (var manager in managers) manager.Stop();
        await Task.WhenAll(loops).ConfigureAwait(false);
        Dispose();
        logger.LogInformation("Meerkat stopped");
    }

    /// <summary>Disposes the managers (closing whatever is still open).</summary>
    public void Dispose()
    {
        foreach (var manager in managers) manager.Dispose();
        managers.Clear();
        loops.Clear();
    }

    private ManagerOptions ManagerOptionsFor()
    {
        var manager = new ManagerOptions
        {
            Log = logger.ToLogHandler(),
            MinimumLogSeverity = logger.MinimumSeverity(),
            MeterFactory = meterFactory,
        };
        options.Manager.ApplyTo(manager);
        options.ConfigureManager?.Invoke(manager);
        return manager;
    }

    private HttpServerOptions HttpOptions()
    {
        var http = new HttpServerOptions();
        options.Http.ApplyTo(http);
        options.ConfigureHttp?.Invoke(http);
        return http;
    }

    /// <summary>The URL with the port the listener got (for port 0).</summary>
    private static string AddressOf(string url, Connection listener)
    {
        var uri = new Uri(url);
        return new UriBuilder(uri.Scheme, uri.Host, listener.LocalEndPoint!.Port).Uri.GetLeftPart(UriPartial.Authority);
    }
}
