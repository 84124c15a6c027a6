using System.Diagnostics;
using Meerkat.Http;

namespace Meerkat.Cli;

/// <summary>
/// One line per HTTP request, written when its transaction ends: time, peer, request line,
/// status (or how it ended, when it did not complete) and milliseconds since the head arrived.
/// One instance per loop: it keeps its own table of requests in flight, by request (one per HTTP/1.1
/// connection, one per HTTP/2 stream: several at once on one connection).
/// </summary>
internal sealed class AccessLog(TextWriter output)
{
    private readonly Dictionary<HttpRequest, (long Started, string Line)> inFlight = new(ReferenceEqualityComparer.Instance);

    /// <summary>A handler that logs, then passes every event on to <paramref name="inner"/>.</summary>
    public ConnectionHandler Wrap(ConnectionHandler inner) => (c, e) =>
    {
        Observe(c, e);
        inner(c, e);
    };

    private void Observe(Connection c, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.HttpHeaders:
                inFlight[e.Request!] = (Stopwatch.GetTimestamp(), e.Request!.ToString());
                break;
            case EventKind.HttpDone when inFlight.Remove(e.Request!, out var request):
                var elapsed = Stopwatch.GetElapsedTime(request.Started);
                string status = e.Outcome == HttpOutcome.Completed ? e.Request!.ResponseStatus.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{e.Request!.ResponseStatus} {e.Outcome}";
                output.WriteLine($"{DateTimeOffset.Now:yyyy-MM-ddTHH:mm:ss} {c.RemoteEndPoint} \"{request.Line}\" {status} {elapsed.TotalMilliseconds:0.0} ms");
                break;
        }
    }
}
