namespace Meerkat.Cli;

internal static class Usage
{
    public const string Text = """
        meerkat: an embeddable, event-driven networking toolkit for .NET

        Usage:
          meerkat demo  [--listen URL]... [--root DIR]      feature demo server (default http://127.0.0.1:8000)
          meerkat serve [DIR] [--listen URL]... [--listing] static file server with an access log
          meerkat get URL [-o FILE] [-C] [-X METHOD] [-H 'Name: value']... [-d DATA|@FILE] [-i]
                      [--retries N] [--timeout S] [--max-redirects N] [--cacert FILE] [--cert FILE --key FILE] [-k]
                      [--compressed]
                      HTTP(S) client; -C resumes, -d @FILE streams the file, --compressed decodes gzip/deflate/br
          meerkat ws URL [--binary] [--subprotocol P]... [-H 'Name: value']... [--cacert FILE] [--cert FILE --key FILE] [-k]
                      WebSocket client: each stdin line is a message, each message received a line
          meerkat mqtt pub URL -t TOPIC (-m MSG | -f FILE | -l | -n) [-q 0|1|2] [-r] [-i ID] [-u USER -P PASS] [-V 311|5]
                      [--will-topic T --will-payload P [--will-qos N] [--will-retain]] [--cacert FILE] [-k]
                      MQTT publish; -l sends each stdin line as a message
          meerkat mqtt sub URL -t FILTER... [-q N] [-C COUNT] [-W SECONDS] [-v] [-V 311|5] [-i ID [-c]] [-u USER -P PASS]
                      MQTT subscribe: each payload on a line of stdout (-v: topic payload); -c keeps the session
          meerkat mqtt broker [--listen URL]... [--users FILE] [--data DIR] [--cert FILE --key FILE | --self-signed]
                      MQTT broker (default mqtt://127.0.0.1:1883; mqtts://, ws://HOST:PORT/PATH, wss://)
            MQTT URLs: mqtt://HOST[:1883], mqtts://HOST[:8883], ws://HOST:PORT/PATH, wss://HOST:PORT/PATH
          meerkat sntp HOST[:PORT] [--timeout S] [--attempts N]
                      SNTP client: prints the local clock's offset from the server and the round-trip delay
            demo and serve: an https:// URL needs --cert FILE --key FILE (PEM) or --self-signed
          meerkat --help | --version

        Exit status: 0 success, 2 bad arguments, 3 network error (sntp: also no answer in time; mqtt sub: -C not reached
        within -W), 4 HTTP error (>= 400) or MQTT refusal (connection or message refused by the broker).

        """;
}

/// <summary>Exit statuses of the meerkat command (documented in --help and docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int BadArguments = 2;
    public const int NetworkError = 3;
    public const int HttpError = 4;
}

/// <summary>The user got the command line wrong; the message says how.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A tiny, strict argument reader: named options with values, flags, positionals.</summary>
internal sealed class Arguments
{
    private readonly Queue<string> queue;

    public Arguments(string[] args) => queue = new Queue<string>(args);

    public bool TryNext(out string argument) => queue.TryDequeue(out argument!);

    public string Value(string option) =>
        queue.TryDequeue(out var value) && !value.StartsWith("--", StringComparison.Ordinal)
            ? value
            : throw new UsageException($"{option} needs a value");
}
