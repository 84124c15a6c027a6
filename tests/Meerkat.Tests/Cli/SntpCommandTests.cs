using System.Diagnostics;
using System.Globalization;
using System.Text;
using Meerkat.Cli;
using Meerkat.Tests.Sntp;

namespace Meerkat.Tests.Cli;

/// <summary><c>meerkat sntp</c> against chronyd and a silent server, in-process and as a real process.</summary>
public sealed class SntpCommandTests
{
    [Fact]
    public void Prints_offset_and_delay_from_chrony()
    {
        using var chrony = Chrony.Start();
        var (code, output, errors) = RunInProcess(chrony.Server, "--timeout", "6");
        Assert.True(code == ExitCodes.Ok, errors);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal($"127.0.0.1:{chrony.Port}", lines["server"]);
        Assert.Equal("10", lines["stratum"]);
        Assert.Matches(@"^[+-]\d+\.\d{6} s$", lines["offset"]);
        Assert.Matches(@"^\d+\.\d{6} s$", lines["delay"]);
        double offset = double.Parse(lines["offset"][..^2], CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(offset) < 0.5, $"offset {offset} s from a server on this machine's own clock");
        Assert.Equal("", errors);
    }

    [Fact]
    public void No_answer_in_time_exits_3_naming_the_server()
    {
        using var silent = new FakeNtpServer((_, _) => []);
        var clock = Stopwatch.StartNew();
        var (code, output, errors) = RunInProcess(silent.Server, "--timeout", "0.7", "--attempts", "3");
        Assert.Equal(ExitCodes.NetworkError, code);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.69), $"gave up after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.Equal("", output);
        Assert.Contains($"no answer from SNTP server {silent.Server}", errors, StringComparison.Ordinal);
        silent.WaitForRequests(3, TimeSpan.FromSeconds(5));
        Assert.Equal(3, silent.Requests.Count);
    }

    [Fact]
    public void Kiss_of_death_exits_3_with_the_code()
    {
        using var server = new FakeNtpServer((request, _) => [FakeNtpServer.Kiss(request, "DENY")]);
        var (code, _, errors) = RunInProcess(server.Server);
        Assert.Equal(ExitCodes.NetworkError, code);
        Assert.Contains("DENY", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--timeout", "0")]
    [InlineData("--attempts", "1.5")]
    [InlineData("--bogus")]
    [InlineData("ntp://pool.ntp.org")]
    public void Bad_arguments_are_usage_errors(params string[] args)
    {
        Assert.Throws<UsageException>(() => SntpCommand.Run(args.Length == 1 && !args[0].StartsWith('-') ? args : ["127.0.0.1", .. args], TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public void As_a_process_it_exits_0_with_an_answer_and_3_without()
    {
        using var chrony = Chrony.Start();
        var (ok, output, _) = RunProcess(chrony.Server);
        Assert.Equal(0, ok);
        Assert.Contains("stratum 10", output, StringComparison.Ordinal);
        using var silent = new FakeNtpServer((_, _) => []);
        var (timedOut, _, errors) = RunProcess(silent.Server, "--timeout", "0.3", "--attempts", "1");
        Assert.Equal(3, timedOut);
        Assert.Contains("no answer", errors, StringComparison.Ordinal);
        Assert.Equal(2, RunProcess().ExitCode);
    }

    private static (int ExitCode, string Output, string Errors) RunInProcess(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        int code = SntpCommand.Run(args, output, errors);
        return (code, output.ToString(), errors.ToString());
    }

    private static (int ExitCode, string Output, string Errors) RunProcess(params string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Meerkat.Cli.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        using var process = Process.Start(new ProcessStartInfo(dotnet, ["exec", cli, "sntp", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            Assert.Fail("meerkat sntp did not exit within 60 s");
        }
        return (process.ExitCode, output.Result, errors.Result);
    }
}
