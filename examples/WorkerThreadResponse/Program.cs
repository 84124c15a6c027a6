// A response answered from a worker thread: the loop thread never blocks. The handler hands the
// slow work to the thread pool and returns; the worker sends the result back with
// Manager.Wakeup (the one thread-safe way in), and the route answers on the Wakeup event.
// Meanwhile the loop keeps serving everyone else, /fast included.
// Usage: dotnet run --project examples/WorkerThreadResponse [-- http://127.0.0.1:8080]
//   curl -s localhost:8080/primes/200000     (counted on a worker: the loop stays free)
//   curl -s localhost:8080/fast
using System.Text;
using Meerkat;
using Meerkat.Http;
using Meerkat.Http.Routing;

string url = args.Length > 0 ? args[0] : "http://127.0.0.1:8080";
using var manager = new Manager();
var router = new Router();

router.MapGet("/primes/{limit}", (c, e, route) =>
{
    switch (e.Kind)
    {
        case EventKind.HttpMessage:
            if (!route.TryGetInt32("limit", out int limit) || limit is < 2 or > 50_000_000)
            {
                c.Reply(400, "limit must be an integer from 2 to 50000000\n");
                return;
            }
            long connectionId = c.Id; // copy what the worker needs: nothing else of the request outlives this call
            ThreadPool.QueueUserWorkItem(_ =>
            {
                int count = CountPrimes(limit);
                // False when the client went away meanwhile: nothing to answer then.
                manager.Wakeup(connectionId, Encoding.UTF8.GetBytes($"{count} primes below {limit}\n"));
            });
            break; // no reply yet: the request stays pending, the connection open
        case EventKind.Wakeup:
            c.Reply(200, e.Data, "text/plain; charset=utf-8"); // back on the loop thread
            break;
    }
});

router.MapGet("/fast", (c, e, route) => c.Reply(200, "answered at once\n"));

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
manager.ListenHttp(url, router.Handle);
Console.WriteLine($"Listening on {url} (Ctrl+C to stop)");
manager.Run(cts.Token);

static int CountPrimes(int limit)
{
    var composite = new bool[limit];
    int count = 0;
    for (int i = 2; i < limit; i++)
    {
        if (composite[i]) continue;
        count++;
        for (long j = (long)i * i; j < limit; j += i) composite[j] = true;
    }
    return count;
}
