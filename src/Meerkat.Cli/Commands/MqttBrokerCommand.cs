using System.Security.Cryptography;
using System.Text;
using Meerkat.Mqtt;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat mqtt broker [--listen URL]... [--users FILE] [--data DIR] [--cert FILE --key FILE | --self-signed]</c>:
/// an MQTT broker (3.1.1 and 5.0) until Ctrl-C or SIGTERM. Listens on <c>mqtt://127.0.0.1:1883</c> by default;
/// <c>mqtts://</c> and <c>wss://</c> need a certificate; <c>ws://HOST:PORT/PATH</c> serves MQTT over WebSocket.
/// Prints each URL it listens on. <c>--users FILE</c> holds <c>user:password</c> lines; with it, a client
/// without valid credentials is refused. <c>--data DIR</c> keeps retained messages, sessions and queued
/// messages across restarts.
/// </summary>
internal static class MqttBrokerCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var urls = new List<string>();
        var tls = new TlsArguments();
        string? usersFile = null;
        string? dataDirectory = null;
        var arguments = new Arguments(args);
        while (arguments.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--listen" or "-l": urls.Add(arguments.Value(argument)); break;
                case "--users": usersFile = arguments.Value(argument); break;
                case "--data": dataDirectory = arguments.Value(argument); break;
                case "--cert" or "--key" or "--self-signed": tls.Take(argument, arguments); break;
                default: throw new UsageException($"unknown option '{argument}'");
            }
        }
        if (urls.Count == 0) urls.Add("mqtt://127.0.0.1:1883");
        bool secure = urls.Any(u => u.StartsWith("mqtts:", StringComparison.OrdinalIgnoreCase) || u.StartsWith("wss:", StringComparison.OrdinalIgnoreCase));
        if (!secure && tls.IsGiven) throw new UsageException("--cert, --key and --self-signed need an mqtts:// or wss:// --listen URL");
        var serverTls = secure ? tls.CreateOptions(stdout, "an mqtts:// or wss:// --listen URL") : null;
        var options = new MqttBrokerOptions { DataDirectory = dataDirectory };
        if (usersFile is not null) options.Authenticate = ReadUsers(usersFile);
        MqttBroker broker;
        try
        {
            broker = new MqttBroker(options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"meerkat mqtt broker: cannot use --data {dataDirectory}: {ex.Message}");
            return ExitCodes.NetworkError;
        }
        using (broker)
        using (var manager = new Manager())
        {
            foreach (var url in urls)
            {
                Connection listener;
                try
                {
                    listener = manager.ListenMqtt(url, broker, serverTls);
                }
                catch (ArgumentException ex)
                {
                    throw new UsageException(ex.Message);
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    stderr.WriteLine($"meerkat mqtt broker: cannot listen on {url}: {ex.Message}");
                    return ExitCodes.NetworkError;
                }
                stdout.WriteLine($"listening on {Describe(url, listener)}");
            }
            manager.Run(cancellationToken);
            stdout.WriteLine("stopped");
        }
        return ExitCodes.Ok;
    }

    /// <summary>The URL with the port actually bound (port 0 picks one).</summary>
    private static string Describe(string url, Connection listener)
    {
        var endPoint = listener.LocalEndPoint!;
        string scheme = url[..url.IndexOf("://", StringComparison.Ordinal)].ToLowerInvariant();
        string host = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        int slash = url.IndexOf('/', url.IndexOf("://", StringComparison.Ordinal) + 3);
        string path = scheme is "ws" or "wss" ? (slash < 0 ? "/" : url[slash..]) : "";
        return $"{scheme}://{host}:{endPoint.Port}{path}";
    }

    /// <summary>An authentication hook over <c>user:password</c> lines (blank lines and # comments ignored);
    /// passwords are compared in constant time.</summary>
    private static Func<MqttAuthenticationContext, MqttReasonCode> ReadUsers(string path)
    {
        var users = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read --users {path}: {ex.Message}");
        }
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int colon = line.IndexOf(':');
            if (colon <= 0) throw new UsageException($"--users {path}:{i + 1}: expected user:password");
            users[line[..colon]] = Encoding.UTF8.GetBytes(line[(colon + 1)..]);
        }
        return context =>
        {
            if (context.UserName is null || !users.TryGetValue(context.UserName, out var expected)) return MqttReasonCode.BadUserNameOrPassword;
            var given = context.Password is { } password ? password.Span : default;
            return CryptographicOperations.FixedTimeEquals(given, expected) ? MqttReasonCode.Success : MqttReasonCode.BadUserNameOrPassword;
        };
    }
}
