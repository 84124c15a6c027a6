using System.CommandLine;
using System.Globalization;
using Meerkat.Cli.CommandLine;
using Meerkat.Sntp;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat sntp HOST[:PORT] [--timeout S] [--attempts N]</c>: asks an NTP server for the time
/// (SNTP, RFC 4330) and prints the local clock's offset from it and the round-trip delay, one
/// <c>name value</c> line each. The port defaults to 123. <c>--timeout</c> is the whole wait (default
/// 7 s), shared by the attempts (default 3) with each retry waiting twice as long as the one before.
/// Exit status: 0 with an answer, 3 when no answer came in time, the server sent a Kiss-o'-Death or
/// the network failed, 2 for bad arguments.
/// </summary>
internal static class SntpCommand
{
    private sealed class Settings
    {
        public string? Server;
        public TimeSpan Timeout = TimeSpan.FromSeconds(7);
        public int Attempts = 3;
    }

    public static Command Create()
    {
        var symbols = new Symbols();
        var command = symbols.Create();
        command.SetAction(result => Execute(symbols.Bind(result), result.InvocationConfiguration.Output, result.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>The command with its output writers given (tests run it in-process).</summary>
    /// <exception cref="UsageException">The arguments are wrong; the message says how.</exception>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var symbols = new Symbols();
        return Execute(symbols.Bind(MeerkatCommand.ParseAlone(symbols.Create(), args)), stdout, stderr);
    }

    private static int Execute(Settings settings, TextWriter stdout, TextWriter stderr)
    {
        var options = new SntpOptions
        {
            MaxAttempts = settings.Attempts,
            // Attempts wait 1, 2, 4... units: 2^N - 1 units in all make the whole --timeout.
            Timeout = settings.Timeout / ((1 << settings.Attempts) - 1),
        };
        using var manager = new Manager();
        var loop = manager.RunAsync();
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var result = manager.QuerySntpAsync(settings.Server!, options, cancel.Token).GetAwaiter().GetResult();
            Print(stdout, result);
            return ExitCodes.Ok;
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException)
        {
            stderr.WriteLine($"meerkat sntp: {ex.Message}");
            return ExitCodes.NetworkError;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            manager.Stop();
            loop.GetAwaiter().GetResult();
        }
    }

    private static void Print(TextWriter stdout, SntpResult result)
    {
        var invariant = CultureInfo.InvariantCulture;
        stdout.WriteLine($"server {result.Server}");
        stdout.WriteLine(string.Create(invariant, $"stratum {result.Stratum}"));
        stdout.WriteLine(string.Create(invariant, $"offset {result.Offset.TotalSeconds:+0.000000;-0.000000} s"));
        stdout.WriteLine(string.Create(invariant, $"delay {result.RoundTripDelay.TotalSeconds:0.000000} s"));
        stdout.WriteLine(string.Create(invariant, $"time {result.CorrectedTime.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffffZ}"));
        if (result.LeapIndicator is NtpLeapIndicator.LastMinuteHas61Seconds or NtpLeapIndicator.LastMinuteHas59Seconds)
            stdout.WriteLine($"leap {result.LeapIndicator}");
    }

    /// <summary>The command's options and argument, and how they become <see cref="Settings"/>.</summary>
    private sealed class Symbols
    {
        private readonly Argument<string?> server = CliSymbols.Positional("HOST[:PORT]", "the NTP server (port 123 unless given)");
        private readonly Option<string?> timeout = CliSymbols.Value("--timeout", "S", "wait at most S seconds in all (default 7)");
        private readonly Option<string?> attempts = CliSymbols.Value("--attempts", "N", "ask up to N times, each retry waiting twice as long (default 3)");

        public Command Create() => new("sntp", "SNTP client: prints the local clock's offset from the server and the round-trip delay")
        {
            server, timeout, attempts,
        };

        public Settings Bind(ParseResult result)
        {
            var settings = new Settings { Server = result.GetValue(server) };
            if (result.GetValue(timeout) is { } t) settings.Timeout = TimeSpan.FromSeconds(Number(t, "--timeout", 0.001, 3600));
            if (result.GetValue(attempts) is { } a)
            {
                settings.Attempts = int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 10
                    ? n
                    : throw new UsageException($"--attempts takes a whole number from 1 to 10, not '{a}'");
            }
            if (settings.Server is null) throw new UsageException("usage: meerkat sntp HOST[:PORT] [--timeout S] [--attempts N]");
            return settings;
        }
    }

    private static double Number(string text, string option, double min, double max) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= min && value <= max
            ? value
            : throw new UsageException($"{option} takes a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, not '{text}'");
}
