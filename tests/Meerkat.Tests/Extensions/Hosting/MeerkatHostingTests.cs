using System.Collections.Concurrent;
using System.Net;
using Meerkat.Extensions.Hosting;
using Meerkat.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Meerkat.Tests.Extensions.Hosting;

/// <summary>The hosted service under a real Generic Host: it starts, serves, logs through ILogger,
/// binds its options from configuration, and stops gracefully.</summary>
public sealed class MeerkatHostingTests
{
    /// <summary>An ILogger provider that keeps every record.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, EventId Id, string Message)> Records { get; } = new();

        /// <summary>Released once per record: what a test waiting for a record waits on.</summary>
        public SemaphoreSlim Logged { get; } = new(0);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose() { }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                owner.Records.Enqueue((category, logLevel, eventId, formatter(state, exception)));
                owner.Logged.Release();
            }
        }
    }

    private static IHost Build(string[] args, Action<MeerkatBuilder> serve, CapturingLoggerProvider? logs = null, Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, DisableDefaults = true });
        builder.Configuration.AddCommandLine(args);
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (logs is not null) builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        serve(builder.Services.AddMeerkat());
        return builder.Build();
    }

    /// <summary>Waits, record by record, until <paramref name="condition"/> holds (30 s at most).</summary>
    private static async Task Until(CapturingLoggerProvider logs, Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition()) await logs.Logged.WaitAsync(timeout.Token);
    }

    [Fact]
    public async Task It_starts_on_the_urls_given_serves_and_logs_through_ILogger()
    {
        var logs = new CapturingLoggerProvider();
        using var host = Build(["--urls", "http://127.0.0.1:0"], meerkat => meerkat.UseHttp((c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, $"hello from loop thread {Environment.CurrentManagedThreadId}");
        }), logs);
        await host.StartAsync();
        var server = host.Services.GetRequiredService<MeerkatServer>();
        string address = Assert.Single(server.Addresses);
        Assert.StartsWith("http://127.0.0.1:", address);
        Assert.NotEqual("http://127.0.0.1:0", address);

        using var client = new HttpClient();
        string body = await client.GetStringAsync(address + "/");
        Assert.StartsWith("hello from loop thread", body);
        Assert.NotEqual($"hello from loop thread {Environment.CurrentManagedThreadId}", body); // its own thread

        await host.StopAsync();
        Assert.Empty(server.Managers);
        var listen = Assert.Single(logs.Records, r => r.Id.Name == "listen");
        Assert.Equal("Meerkat", listen.Category);
        Assert.Equal(LogLevel.Information, listen.Level);
        Assert.StartsWith("listening on tcp://127.0.0.1:", listen.Message);
        Assert.Contains(logs.Records, r => r.Message == $"Now listening on: {address}");
        Assert.Equal(2, logs.Records.Count(r => r.Id.Name == "shutdown"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(address + "/")); // nothing listens any more
    }

    [Fact]
    public async Task Stopping_lets_a_request_in_flight_finish_and_then_closes()
    {
        var answer = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var outcomes = new ConcurrentQueue<HttpOutcome>();
        var logs = new CapturingLoggerProvider();
        using var host = Build(["--urls", "http://127.0.0.1:0"], meerkat => meerkat.UseHttp((c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage)
            {
                answer.TrySetResult(c.Id); // answered later, from another thread (a deferred response)
                arrived.TrySetResult();
            }
            else if (e.Kind == EventKind.Wakeup) c.Reply(200, "finished after the stop began");
            else if (e.Kind == EventKind.HttpDone) outcomes.Enqueue(e.Outcome);
        }), logs);
        await host.StartAsync();
        var server = host.Services.GetRequiredService<MeerkatServer>();
        var manager = Assert.Single(server.Managers);
        using var client = new HttpClient();
        var request = client.GetAsync(Assert.Single(server.Addresses) + "/slow");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var stopping = host.StopAsync();
        await Until(logs, () => logs.Records.Any(r => r.Message.StartsWith("shutting down", StringComparison.Ordinal)));
        Assert.False(stopping.IsCompleted); // the shutdown is under way and waits for the request
        manager.Wakeup(await answer.Task);
        var response = await request.WaitAsync(TimeSpan.FromSeconds(30));
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("finished after the stop began", await response.Content.ReadAsStringAsync());
        Assert.True(response.Headers.ConnectionClose);
        Assert.Equal([HttpOutcome.Completed], outcomes);
    }

    [Fact]
    public async Task A_request_still_open_at_the_shutdown_timeout_is_cut_and_the_stop_completes()
    {
        var outcomes = new ConcurrentQueue<HttpOutcome>();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = Build(["--urls", "http://127.0.0.1:0"], meerkat => meerkat.UseHttp((c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) arrived.TrySetResult(); // never answered
            else if (e.Kind == EventKind.HttpDone) outcomes.Enqueue(e.Outcome);
        }), settings: new() { ["Meerkat:ShutdownTimeout"] = "00:00:00.200" });
        await host.StartAsync();
        var server = host.Services.GetRequiredService<MeerkatServer>();
        using var client = new HttpClient();
        var request = client.GetAsync(Assert.Single(server.Addresses) + "/never");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => request);
        Assert.Equal([HttpOutcome.Shutdown], outcomes);
    }

    [Fact]
    public async Task Options_are_bound_from_configuration()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("several loops share a port through SO_REUSEPORT (Linux)");
        using var host = Build([], meerkat => meerkat.UseHttp((c, e) =>
        {
            if (e.Kind == EventKind.HttpMessage) c.Reply(200, "ok");
        }), settings: new()
        {
            ["Meerkat:Urls:0"] = "http://127.0.0.1:0",
            ["Meerkat:Loops"] = "2",
            ["Meerkat:Manager:MaxConnections"] = "123",
            ["Meerkat:Http:ServerName"] = "configured",
        });
        await host.StartAsync();
        var server = host.Services.GetRequiredService<MeerkatServer>();
        Assert.Equal(2, server.Managers.Count);
        Assert.All(server.Managers, m => Assert.Equal(123, m.Options.MaxConnections));
        using var client = new HttpClient();
        var response = await client.GetAsync(Assert.Single(server.Addresses) + "/");
        Assert.Equal("configured", response.Headers.Server.ToString());
        await host.StopAsync();
    }
}
