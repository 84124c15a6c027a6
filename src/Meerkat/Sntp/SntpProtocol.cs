using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Meerkat.Sntp;

/// <summary>
/// The glue between an <see cref="SntpExchange"/> and a UDP connection of the loop: sends a request
/// on <see cref="EventKind.Connect"/> and on each timeout that leaves an attempt, feeds every
/// datagram to the exchange, and reports once, through the callback, how the query ended.
/// The connection closes itself after the report.
/// </summary>
internal sealed class SntpProtocol(string server, SntpOptions options, SntpCallback callback) : Protocol
{
    private readonly SntpExchange exchange = new(options);
    private ManagerTimer? deadline;
    private bool reported;

    public override void OnEvent(Connection connection, Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Connect:
                SendRequest(connection);
                break;
            case EventKind.Read:
                OnDatagram(connection, e.Data);
                break;
            case EventKind.Timer when e.Timer == deadline:
                if (exchange.OnTimeout()) SendRequest(connection);
                else Finish(connection, null, new TimeoutException(
                    $"no answer from SNTP server {server} ({connection.RemoteEndPoint}) after {exchange.Attempts} attempts in {options.TotalTimeout.TotalSeconds:0.###} s"
                    + (exchange.LastRejection is { } why ? $"; the last reply was ignored: {why}" : "")));
                break;
            case EventKind.Error:
                Report(null, new MeerkatException($"SNTP query to {server} failed: {e.Error!.Message}", e.Error));
                break;
            case EventKind.Close:
                Report(null, new OperationCanceledException($"the SNTP query to {server} was closed before an answer"));
                break;
        }
    }

    private void SendRequest(Connection connection)
    {
        Span<byte> request = stackalloc byte[NtpPacket.Size];
        Span<byte> nonce = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(nonce);
        var wait = exchange.WriteRequest(DateTimeOffset.UtcNow, BinaryPrimitives.ReadUInt64LittleEndian(nonce), request);
        deadline?.Cancel();
        deadline = connection.AddTimer(wait);
        connection.Send(request);
    }

    private void OnDatagram(Connection connection, ReadOnlySpan<byte> datagram)
    {
        // T4 first: every microsecond spent before reading the clock is counted as network delay.
        var now = DateTimeOffset.UtcNow;
        switch (exchange.Receive(datagram, now))
        {
            case SntpReceiveStatus.Answered:
                Finish(connection, exchange.Result! with { Server = connection.RemoteEndPoint }, null);
                break;
            case SntpReceiveStatus.KissOfDeath:
                string code = exchange.KissCode!;
                string advice = code == KissCodes.Rate ? "it asks this client to query less often" : "it will not serve this client: stop asking it";
                Finish(connection, null, new SntpException($"SNTP server {server} sent Kiss-o'-Death {code}: {advice}", code));
                break;
            default:
                if (connection.Manager.IsLogging(LogSeverity.Debug))
                    connection.Manager.Log(LogSeverity.Debug, "sntp-reply-ignored", $"a reply from {server} was ignored: {exchange.LastRejection}", connectionId: connection.Id);
                break;
        }
    }

    private void Finish(Connection connection, SntpResult? result, Exception? error)
    {
        deadline?.Cancel();
        Report(result, error);
        connection.Close();
    }

    private void Report(SntpResult? result, Exception? error)
    {
        if (reported) return;
        reported = true;
        callback(result, error);
    }
}
