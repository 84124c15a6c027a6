using System.Text;
using Meerkat.Mqtt;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat mqtt sub URL -t FILTER... [-q N] [-C COUNT] [-W SECONDS] [-v] [-V 311|5] [-i ID] [-c]</c>:
/// subscribes and prints each message's payload on a line of stdout (<c>-v</c>: <c>topic payload</c>); status goes
/// to stderr. <c>-C</c> exits 0 after COUNT messages, <c>-W</c> after SECONDS (3 when -C was not reached); <c>-c</c>
/// with <c>-i</c> keeps a persistent session. A lost connection is re-established. Exit status: 0, 2 bad arguments,
/// 3 network failure or timeout, 4 refused by the broker.
/// </summary>
internal static class MqttSubCommand
{
    private sealed class Settings
    {
        public readonly MqttConnectionArguments Connection = new();
        public readonly List<string> Filters = [];
        public MqttQualityOfService Qos;
        public int Count;
        public double Seconds;
        public bool Verbose;
        public bool Persistent;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var settings = Parse(args);
        var options = settings.Connection.Options();
        if (settings.Persistent)
        {
            options.CleanStart = false;
            options.SessionExpiryInterval = uint.MaxValue;
        }
        using var manager = new Manager();
        int received = 0;
        bool everConnected = false;
        int exitCode = ExitCodes.Ok;
        MqttClientSession? session = null;
        try
        {
            session = manager.ConnectMqtt(options, (c, e) =>
            {
                switch (e.Kind)
                {
                    case EventKind.MqttConnAck when e.Mqtt!.ConnAck!.ReasonCode.IsSuccess():
                        everConnected = true;
                        stderr.WriteLine($"meerkat mqtt sub: connected to {options.Url}{(e.Mqtt!.ConnAck!.SessionPresent ? " (session resumed)" : "")}");
                        break;
                    case EventKind.MqttSubAck:
                        var codes = e.Mqtt!.Request!.ReasonCodes ?? [];
                        for (int i = 0; i < codes.Count; i++)
                            stderr.WriteLine(codes[i].IsSuccess()
                                ? $"meerkat mqtt sub: subscribed to {e.Mqtt!.Request!.Filters[i]} (QoS {(int)codes[i]})"
                                : $"meerkat mqtt sub: the broker refused {e.Mqtt!.Request!.Filters[i]}: {codes[i]}");
                        break;
                    case EventKind.MqttMessage:
                        if (settings.Count > 0 && received >= settings.Count) break;
                        received++;
                        string payload = Encoding.UTF8.GetString(e.Data);
                        stdout.WriteLine(settings.Verbose ? $"{e.Mqtt!.Topic} {payload}" : payload);
                        if (settings.Count > 0 && received == settings.Count) e.Mqtt!.Session.Disconnect();
                        break;
                    case EventKind.Error:
                        stderr.WriteLine($"meerkat mqtt sub: {e.Error!.Message}");
                        break;
                }
            });
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        var current = session;
        session.Subscribe(settings.Filters.Select(f => new MqttSubscription(f, settings.Qos)));
        session.Ended = s => { if (!everConnected) exitCode = MqttConnectionArguments.ExitCodeFor(s.LastError); };
        var deadline = settings.Seconds > 0 ? DateTime.UtcNow.AddSeconds(settings.Seconds) : DateTime.MaxValue;
        using var registration = cancellationToken.Register(() => manager.Post(() => current.Disconnect()));
        while (!session.IsEnded)
        {
            manager.Poll(100);
            // The first connection failed: give up rather than retry for ever.
            if (!everConnected && session.Connection is null && !session.IsEnded) session.Disconnect();
            if (DateTime.UtcNow < deadline) continue;
            deadline = DateTime.MaxValue;
            if (settings.Count > 0 && received < settings.Count)
            {
                stderr.WriteLine($"meerkat mqtt sub: {received} of {settings.Count} messages within {settings.Seconds} s");
                exitCode = ExitCodes.NetworkError;
            }
            session.Disconnect();
        }
        return exitCode;
    }

    private static Settings Parse(string[] args)
    {
        var settings = new Settings();
        var arguments = new Arguments(args);
        while (arguments.TryNext(out var argument))
        {
            if (settings.Connection.Take(argument, arguments)) continue;
            switch (argument)
            {
                case "-t" or "--topic":
                    string filter = arguments.Value(argument);
                    if (!MqttTopic.IsValidFilter(filter)) throw new UsageException($"'{filter}' is not a valid topic filter");
                    settings.Filters.Add(filter);
                    break;
                case "-q" or "--qos": settings.Qos = MqttConnectionArguments.Qos(argument, arguments.Value(argument)); break;
                case "-C" or "--count":
                    if (!int.TryParse(arguments.Value(argument), out settings.Count) || settings.Count < 1) throw new UsageException("-C takes a count of 1 or more");
                    break;
                case "-W" or "--timeout":
                    if (!double.TryParse(arguments.Value(argument), System.Globalization.CultureInfo.InvariantCulture, out settings.Seconds) || settings.Seconds <= 0)
                        throw new UsageException("-W takes a number of seconds above 0");
                    break;
                case "-v" or "--verbose": settings.Verbose = true; break;
                case "-c" or "--disable-clean-session": settings.Persistent = true; break;
                default: throw new UsageException($"unknown option '{argument}'");
            }
        }
        if (settings.Filters.Count == 0) throw new UsageException("at least one -t FILTER is required");
        if (settings.Persistent && settings.Connection.ClientId is null) throw new UsageException("-c (a persistent session) needs -i ID");
        return settings;
    }
}
