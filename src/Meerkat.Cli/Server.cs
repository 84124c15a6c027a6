using System.Runtime.InteropServices;
using Meerkat.Http;

namespace Meerkat.Cli;

/// <summary>Runs HTTP listeners on one manager until Ctrl-C or SIGTERM, printing each URL.</summary>
internal static class Server
{
    public static int Run(IReadOnlyList<string> urls, Func<Manager, ConnectionHandler> createHandler, HttpServerOptions? options = null)
    {
        using var manager = new Manager();
        var handler = createHandler(manager);
        foreach (var url in urls)
        {
            Connection listener;
            try
            {
                listener = manager.ListenHttp(url, handler, options);
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Console.Error.WriteLine($"meerkat: cannot listen on {url}: {ex.Message}");
                return ExitCodes.NetworkError;
            }
            var endPoint = listener.LocalEndPoint!;
            string host = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
            Console.Out.WriteLine($"listening on http://{host}:{endPoint.Port}/");
        }
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
        manager.Run(stop.Token);
        Console.Out.WriteLine("stopped");
        return ExitCodes.Ok;
    }
}
