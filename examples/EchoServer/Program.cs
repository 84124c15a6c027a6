// A TCP echo server: every byte received is sent straight back.
// Usage: dotnet run --project examples/EchoServer [-- tcp://127.0.0.1:9000]
using Meerkat;

string url = args.Length > 0 ? args[0] : "tcp://127.0.0.1:9000";
using var manager = new Manager();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };

var listener = manager.Listen(url, (c, e) =>
{
    switch (e.Kind)
    {
        case EventKind.Accept:
            Console.WriteLine($"{c.RemoteEndPoint} connected");
            break;
        case EventKind.Read:
            c.Send(c.Received);          // echo everything not yet consumed...
            c.Consume(c.Received.Length); // ...and mark it consumed
            break;
        case EventKind.Close when c.Role == ConnectionRole.Accepted:
            Console.WriteLine($"{c.RemoteEndPoint} disconnected");
            break;
    }
});

Console.WriteLine($"Echo server listening on {listener.LocalEndPoint} (Ctrl+C to stop)");
manager.Run(cts.Token);
