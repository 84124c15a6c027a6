using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Meerkat.Tests.Http.Client;

/// <summary>An in-process Kestrel on a free loopback port that counts the connections it served.</summary>
internal sealed class Kestrel : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, bool> connections = new();

    private Kestrel(WebApplication app) => this.app = app;

    public string Url { get; private set; } = "";

    public int ConnectionCount => connections.Count;

    public int RequestCount;

    public static async Task<Kestrel> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new Kestrel(app);
        app.Use(async (context, next) =>
        {
            server.connections.TryAdd(context.Connection.Id, true);
            Interlocked.Increment(ref server.RequestCount);
            await next(context);
        });
        map(app);
        await app.StartAsync();
        server.Url = app.Urls.First();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>A raw TCP peer that runs one script per accepted socket; for misbehaving servers.</summary>
internal sealed class RawServer : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public RawServer(Func<Socket, int, Task> script)
    {
        listener.Start();
        loop = Task.Run(async () =>
        {
            for (int index = 0; !stop.IsCancellationRequested; index++)
            {
                Socket socket;
                try { socket = await listener.AcceptSocketAsync(stop.Token); }
                catch (OperationCanceledException) { return; }
                int n = index;
                Accepted++;
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        try { await script(socket, n); }
                        catch (SocketException) { }
                    }
                });
            }
        });
    }

    public int Accepted;

    public string Url => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

    /// <summary>Reads one request head (up to the blank line) and returns it.</summary>
    public static async Task<string> ReadHeadAsync(Socket socket)
    {
        var received = new List<byte>();
        var buffer = new byte[1];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer);
            if (n == 0) return System.Text.Encoding.Latin1.GetString(received.ToArray());
            received.Add(buffer[0]);
            int c = received.Count;
            if (c >= 4 && received[c - 4] == '\r' && received[c - 3] == '\n' && received[c - 2] == '\r' && received[c - 1] == '\n')
                return System.Text.Encoding.Latin1.GetString(received.ToArray());
        }
    }

    public static Task SendAsync(Socket socket, string text) => socket.SendAsync((ArraySegment<byte>)System.Text.Encoding.Latin1.GetBytes(text), SocketFlags.None);

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        try { loop.Wait(); } catch (AggregateException) { }
    }
}

internal static class Responses
{
    /// <summary>Writes <paramref name="length"/> bytes of a repeating pattern (byte i = i % 251).</summary>
    public static async Task WritePatternAsync(HttpResponse response, long length, int piece = 64 * 1024)
    {
        for (long sent = 0; sent < length;)
        {
            int n = (int)Math.Min(piece, length - sent);
            await response.Body.WriteAsync(Pattern(sent, n));
            sent += n;
        }
    }

    public static byte[] Pattern(long offset, int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++) data[i] = (byte)((offset + i) % 251);
        return data;
    }
}
