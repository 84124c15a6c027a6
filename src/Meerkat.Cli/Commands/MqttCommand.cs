using System.CommandLine;
using System.Text;
using Meerkat.Cli.CommandLine;
using Meerkat.Mqtt;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat mqtt pub|sub|broker ...</c>: MQTT tools shaped like mosquitto's (see each verb's file).
/// The URL is <c>mqtt://HOST[:1883]</c>, <c>mqtts://HOST[:8883]</c>, <c>ws://HOST[:80]/PATH</c> or <c>wss://HOST[:443]/PATH</c>.
/// </summary>
internal static class MqttCommand
{
    /// <summary><c>mqtt pub</c>, <c>mqtt sub</c> and <c>mqtt broker</c>, each parsing its own words.</summary>
    public static Command Create() => new("mqtt", "MQTT tools: publish, subscribe, a broker (URLs: mqtt://HOST[:1883], mqtts://HOST[:8883], ws://HOST:PORT/PATH, wss://)")
    {
        PassThrough.Create("pub", """
            MQTT publish: URL -t TOPIC (-m MSG | -f FILE | -l | -n) [-q 0|1|2] [-r] [-i ID] [-u USER -P PASS] [-V 311|5]
            [--will-topic T --will-payload P [--will-qos N] [--will-retain]] [--cacert FILE] [-k]; -l sends each stdin line as a message
            """, words => Run(["pub", .. words])),
        PassThrough.Create("sub", """
            MQTT subscribe: URL -t FILTER... [-q N] [-C COUNT] [-W SECONDS] [-v] [-V 311|5] [-i ID [-c]] [-u USER -P PASS];
            each payload on a line of stdout (-v: topic payload); -c keeps the session
            """, words => Run(["sub", .. words])),
        PassThrough.Create("broker", """
            MQTT broker: [--listen URL]... [--users FILE] [--data DIR] [--cert FILE --key FILE | --self-signed]
            (default mqtt://127.0.0.1:1883; mqtts://, ws://HOST:PORT/PATH, wss://)
            """, words => Run(["broker", .. words])),
    };

    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new UsageException("mqtt needs a verb: pub, sub or broker");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        return args[0] switch
        {
            "pub" => MqttPubCommand.Run(args[1..], Console.In, stdout, Console.Error, stop.Token),
            "sub" => MqttSubCommand.Run(args[1..], stdout, Console.Error, stop.Token),
            "broker" => MqttBrokerCommand.Run(args[1..], stdout, Console.Error, stop.Token),
            _ => throw new UsageException($"unknown mqtt verb '{args[0]}' (pub, sub or broker)"),
        };
    }
}

/// <summary>The connection options pub and sub share: URL, -i, -u, -P, -V, -k, --cacert, --cert, --key.</summary>
internal sealed class MqttConnectionArguments
{
    private string? caCert;
    private string? clientCert;
    private string? clientKey;
    private bool insecure;

    public string? Url { get; private set; }
    public string? ClientId { get; private set; }
    public string? UserName { get; private set; }
    public string? Password { get; private set; }
    public MqttProtocolVersion Version { get; private set; } = MqttProtocolVersion.V500;

    /// <summary>Takes the option if it is one of these; false otherwise.</summary>
    public bool Take(string argument, Arguments arguments)
    {
        switch (argument)
        {
            case "-i" or "--id": ClientId = arguments.Value(argument); return true;
            case "-u" or "--username": UserName = arguments.Value(argument); return true;
            case "-P" or "--pw": Password = arguments.Value(argument); return true;
            case "-V" or "--protocol-version":
                Version = arguments.Value(argument) switch
                {
                    "311" or "mqttv311" or "4" => MqttProtocolVersion.V311,
                    "5" or "mqttv5" => MqttProtocolVersion.V500,
                    var other => throw new UsageException($"-V takes 311 or 5, not '{other}'"),
                };
                return true;
            case "-k" or "--insecure": insecure = true; return true;
            case "--cacert": caCert = arguments.Value(argument); return true;
            case "--cert": clientCert = arguments.Value(argument); return true;
            case "--key": clientKey = arguments.Value(argument); return true;
            case { } when !argument.StartsWith('-'):
                if (Url is not null) throw new UsageException($"one URL only ('{Url}' and '{argument}')");
                Url = argument;
                return true;
            default: return false;
        }
    }

    /// <summary>Client options from what was given; the caller adds its own (will, session).</summary>
    public MqttClientOptions Options()
    {
        if (Url is null) throw new UsageException("a broker URL is required (mqtt://HOST:PORT, mqtts://, ws://HOST:PORT/PATH, wss://)");
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts" or "ws" or "wss"))
            throw new UsageException($"'{Url}' is not an mqtt://, mqtts://, ws:// or wss:// URL");
        if (Password is not null && UserName is null && Version == MqttProtocolVersion.V311) throw new UsageException("-P needs -u in MQTT 3.1.1");
        return new MqttClientOptions
        {
            Url = Url,
            ProtocolVersion = Version,
            ClientId = ClientId ?? "meerkat-" + Guid.NewGuid().ToString("N")[..12],
            UserName = UserName,
            Password = Password is null ? null : Encoding.UTF8.GetBytes(Password),
            Tls = ClientTls.Options(caCert, insecure, clientCert, clientKey),
        };
    }

    public static MqttQualityOfService Qos(string option, string value) => value switch
    {
        "0" => MqttQualityOfService.AtMostOnce,
        "1" => MqttQualityOfService.AtLeastOnce,
        "2" => MqttQualityOfService.ExactlyOnce,
        _ => throw new UsageException($"{option} takes 0, 1 or 2, not '{value}'"),
    };

    /// <summary>The exit status for how a session ended: a refusal or rejection is 4, a transport failure 3.</summary>
    public static int ExitCodeFor(Exception? error) => error is MqttProtocolException { ReasonCode: >= MqttReasonCode.UnspecifiedError } ? ExitCodes.HttpError : ExitCodes.NetworkError;
}
