using System.Text;
using Meerkat.Mqtt;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat mqtt pub URL -t TOPIC (-m MSG | -f FILE | -l | -n) [-q 0|1|2] [-r] [-i ID] [-u USER -P PASS]
/// [-V 311|5] [--will-topic T --will-payload P [--will-qos N] [--will-retain]]</c>: publishes one message
/// (or, with <c>-l</c>, each line of stdin) and exits once every message is acknowledged. Exit status: 0 when
/// every message was delivered, 4 when the broker refused the connection or a message, 3 for a network failure.
/// </summary>
internal static class MqttPubCommand
{
    private sealed class Settings
    {
        public readonly MqttConnectionArguments Connection = new();
        public string? Topic;
        public byte[]? Message;
        public bool Lines;
        public MqttQualityOfService Qos;
        public bool Retain;
        public string? WillTopic;
        public string? WillPayload;
        public MqttQualityOfService WillQos;
        public bool WillRetain;
    }

    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var settings = Parse(args);
        var options = settings.Connection.Options();
        options.AutoReconnect = false;
        if (settings.WillTopic is not null)
            options.Will = new MqttApplicationMessage(settings.WillTopic, Encoding.UTF8.GetBytes(settings.WillPayload ?? ""), settings.WillQos, settings.WillRetain);
        using var manager = new Manager();
        int exitCode = ExitCodes.Ok;
        int pending = 0;
        bool inputEnded = !settings.Lines;
        MqttClientSession session = null!;
        try
        {
            session = manager.ConnectMqtt(options, (c, e) =>
            {
                if (e.Kind == EventKind.Error) stderr.WriteLine($"meerkat mqtt pub: {e.Error!.Message}");
                else if (e.Kind == EventKind.MqttPublishDone) Ended(e.Mqtt!.Delivery!);
            });
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        void Publish(byte[] payload)
        {
            pending++;
            session.Publish(new MqttApplicationMessage(settings.Topic!, payload, settings.Qos, settings.Retain));
        }
        void Ended(MqttDelivery delivery)
        {
            pending--;
            if (delivery.Outcome != MqttDeliveryOutcome.Delivered)
            {
                stderr.WriteLine($"meerkat mqtt pub: {delivery.Message.Topic}: {delivery.Outcome} ({delivery.ReasonCode}){(delivery.Reason is { } r ? ": " + r : "")}");
                exitCode = delivery.Outcome == MqttDeliveryOutcome.Rejected ? ExitCodes.HttpError : ExitCodes.NetworkError;
            }
            if (pending == 0 && inputEnded) session.Disconnect();
        }
        if (settings.Lines)
        {
            var thread = new Thread(() =>
            {
                while (stdin.ReadLine() is { } line)
                {
                    var bytes = Encoding.UTF8.GetBytes(line);
                    manager.Post(() => { if (!session.IsEnded) Publish(bytes); });
                }
                manager.Post(() =>
                {
                    inputEnded = true;
                    if (pending == 0) session.Disconnect();
                });
            })
            { IsBackground = true, Name = "meerkat mqtt pub stdin" };
            thread.Start();
        }
        else
        {
            Publish(settings.Message!);
        }
        using (cancellationToken.Register(() => manager.Post(() => session.Disconnect())))
            while (!session.IsEnded) manager.Poll(100);
        if (session.Undelivered.Count > 0 && exitCode == ExitCodes.Ok) exitCode = ExitCodes.NetworkError;
        // Never accepted: the refusal (4) or the transport failure (3) decides, not the undelivered message.
        return session.ConnAck is null ? MqttConnectionArguments.ExitCodeFor(session.LastError) : exitCode;
    }

    private static Settings Parse(string[] args)
    {
        var settings = new Settings();
        var arguments = new Arguments(args);
        int sources = 0;
        while (arguments.TryNext(out var argument))
        {
            if (settings.Connection.Take(argument, arguments)) continue;
            switch (argument)
            {
                case "-t" or "--topic": settings.Topic = arguments.Value(argument); break;
                case "-m" or "--message": settings.Message = Encoding.UTF8.GetBytes(arguments.Value(argument)); sources++; break;
                case "-f" or "--file":
                    string path = arguments.Value(argument);
                    try
                    {
                        settings.Message = File.ReadAllBytes(path);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        throw new UsageException($"cannot read -f {path}: {ex.Message}");
                    }
                    sources++;
                    break;
                case "-n" or "--null-message": settings.Message = []; sources++; break;
                case "-l" or "--stdin-line": settings.Lines = true; sources++; break;
                case "-q" or "--qos": settings.Qos = MqttConnectionArguments.Qos(argument, arguments.Value(argument)); break;
                case "-r" or "--retain": settings.Retain = true; break;
                case "--will-topic": settings.WillTopic = arguments.Value(argument); break;
                case "--will-payload": settings.WillPayload = arguments.Value(argument); break;
                case "--will-qos": settings.WillQos = MqttConnectionArguments.Qos(argument, arguments.Value(argument)); break;
                case "--will-retain": settings.WillRetain = true; break;
                default: throw new UsageException($"unknown option '{argument}'");
            }
        }
        if (settings.Topic is null) throw new UsageException("-t TOPIC is required");
        if (!MqttTopic.IsValidName(settings.Topic)) throw new UsageException($"'{settings.Topic}' is not a valid topic name (no + or #)");
        if (sources != 1) throw new UsageException("give exactly one of -m MESSAGE, -f FILE, -l or -n");
        if (settings.WillTopic is null && (settings.WillPayload is not null || settings.WillRetain)) throw new UsageException("--will-payload and --will-retain need --will-topic");
        if (settings.WillTopic is not null && !MqttTopic.IsValidName(settings.WillTopic)) throw new UsageException($"'{settings.WillTopic}' is not a valid will topic");
        return settings;
    }
}
