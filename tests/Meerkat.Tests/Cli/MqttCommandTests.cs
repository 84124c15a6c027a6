using System.Text;
using Meerkat.Cli;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Cli;

/// <summary><c>meerkat mqtt broker|pub|sub</c> run in-process: the broker command on a thread, pub and
/// sub against it, with users, persistence across a restart, and exit codes.</summary>
public sealed class MqttCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-mqtt-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>A TextWriter that can be read while another thread writes, and waited on.</summary>
    private sealed class Capture : TextWriter
    {
        private readonly StringBuilder text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (text)
            {
                text.Append(value);
                Monitor.PulseAll(text);
            }
        }

        public override void Write(string? value)
        {
            lock (text)
            {
                text.Append(value);
                Monitor.PulseAll(text);
            }
        }

        public string Text
        {
            get { lock (text) return text.ToString(); }
        }

        public void WaitFor(string fragment)
        {
            // Woken by each write; bounded by the loop deadline.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            lock (text)
            {
                while (!text.ToString().Contains(fragment, StringComparison.Ordinal))
                {
                    var left = Loop.Deadline - clock.Elapsed;
                    if (left <= TimeSpan.Zero) Assert.Fail($"timed out waiting for '{fragment}' in: {text}");
                    Monitor.Wait(text, left);
                }
            }
        }
    }

    private sealed class RunningBroker : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task<int> run;

        public RunningBroker(params string[] args)
        {
            run = Task.Factory.StartNew(() => MqttBrokerCommand.Run(args, Output, Errors, stop.Token), TaskCreationOptions.LongRunning);
            Output.WaitFor("listening on ws://");
            var lines = Output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Tcp = lines.First(l => l.StartsWith("listening on mqtt://", StringComparison.Ordinal))["listening on ".Length..];
            WebSocket = lines.First(l => l.StartsWith("listening on ws://", StringComparison.Ordinal))["listening on ".Length..];
        }

        public Capture Output { get; } = new();
        public Capture Errors { get; } = new();
        public string Tcp { get; }
        public string WebSocket { get; }

        public void Dispose()
        {
            stop.Cancel();
            Assert.Equal(ExitCodes.Ok, run.Wait(Loop.Deadline) ? run.Result : -1);
        }
    }

    private RunningBroker StartBroker() => new("--listen", "mqtt://127.0.0.1:0", "--listen", "ws://127.0.0.1:0/mqtt", "--users", Users(), "--data", Path.Combine(directory, "data"));

    private string Users()
    {
        string path = Path.Combine(directory, "users");
        File.WriteAllText(path, "# test users\nalice:s3cret\nbob:hunter2\n");
        return path;
    }

    private static (int Exit, string Out, string Err) Pub(string stdin, params string[] args)
    {
        var output = new Capture();
        var errors = new Capture();
        int exit = MqttPubCommand.Run(args, new StringReader(stdin), output, errors, CancellationToken.None);
        return (exit, output.Text, errors.Text);
    }

    private static (Task<int> Run, Capture Out, Capture Err) Sub(params string[] args)
    {
        var output = new Capture();
        var errors = new Capture();
        var run = Task.Factory.StartNew(() => MqttSubCommand.Run(args, output, errors, CancellationToken.None), TaskCreationOptions.LongRunning);
        return (run, output, errors);
    }

    [Fact]
    public void Sub_prints_only_messages_on_stdout_and_exits_0_after_count()
    {
        using var broker = StartBroker();
        var (run, output, errors) = Sub(broker.Tcp, "-t", "cli/#", "-q", "1", "-C", "4", "-v", "-u", "alice", "-P", "s3cret");
        errors.WaitFor("subscribed to cli/#");
        Assert.Equal(0, Pub("", broker.Tcp, "-t", "cli/one", "-m", "hello", "-q", "1", "-u", "bob", "-P", "hunter2").Exit);
        Assert.Equal(0, Pub("line a\nline b\n", broker.WebSocket, "-t", "cli/lines", "-l", "-q", "2", "-u", "bob", "-P", "hunter2", "-V", "311").Exit);
        File.WriteAllText(Path.Combine(directory, "payload"), "from a file");
        Assert.Equal(0, Pub("", broker.Tcp, "-t", "cli/file", "-f", Path.Combine(directory, "payload"), "-u", "bob", "-P", "hunter2").Exit);
        Assert.True(run.Wait(Loop.Deadline));
        Assert.Equal(ExitCodes.Ok, run.Result);
        Assert.Equal("cli/one hello\ncli/lines line a\ncli/lines line b\ncli/file from a file\n", output.Text.ReplaceLineEndings("\n"));
        Assert.Contains("connected to", errors.Text);
    }

    [Fact]
    public void Wrong_credentials_exit_4_and_an_unanswered_count_exits_3_after_the_wait()
    {
        using var broker = StartBroker();
        var refused = Pub("", broker.Tcp, "-t", "x", "-m", "y", "-u", "alice", "-P", "wrong");
        Assert.Equal(ExitCodes.HttpError, refused.Exit);
        Assert.Contains("BadUserNameOrPassword", refused.Err);
        var (run, output, _) = Sub(broker.Tcp, "-t", "quiet/#", "-C", "1", "-W", "0.5", "-u", "alice", "-P", "s3cret");
        Assert.True(run.Wait(Loop.Deadline));
        Assert.Equal(ExitCodes.NetworkError, run.Result);
        Assert.Equal("", output.Text);
        Assert.Equal(ExitCodes.NetworkError, Pub("", "mqtt://127.0.0.1:1", "-t", "x", "-m", "y").Exit);
    }

    [Fact]
    public void A_persistent_subscriber_gets_what_was_published_while_it_was_away_even_across_a_broker_restart()
    {
        using (var broker = StartBroker())
        {
            var (run, _, errors) = Sub(broker.Tcp, "-t", "p/#", "-q", "1", "-c", "-i", "keeper", "-C", "1", "-u", "alice", "-P", "s3cret", "-V", "311");
            errors.WaitFor("subscribed to p/#");
            Assert.Equal(0, Pub("", broker.Tcp, "-t", "p/first", "-m", "1", "-q", "1", "-u", "bob", "-P", "hunter2").Exit);
            Assert.True(run.Wait(Loop.Deadline));
            Assert.Equal(0, Pub("", broker.Tcp, "-t", "p/second", "-m", "2", "-q", "1", "-u", "bob", "-P", "hunter2").Exit);
        }
        using (var broker = StartBroker())
        {
            var (run, output, errors) = Sub(broker.Tcp, "-t", "p/#", "-q", "1", "-c", "-i", "keeper", "-C", "1", "-v", "-u", "alice", "-P", "s3cret", "-V", "311");
            Assert.True(run.Wait(Loop.Deadline));
            Assert.Equal(ExitCodes.Ok, run.Result);
            Assert.Equal("p/second 2\n", output.Text.ReplaceLineEndings("\n"));
            Assert.Contains("session resumed", errors.Text);
        }
    }

    [Theory]
    [InlineData("pub", new[] { "mqtt://127.0.0.1:1883", "-m", "x" }, "-t TOPIC is required")]
    [InlineData("pub", new[] { "mqtt://127.0.0.1:1883", "-t", "a/#", "-m", "x" }, "not a valid topic name")]
    [InlineData("pub", new[] { "mqtt://127.0.0.1:1883", "-t", "a", "-m", "x", "-n" }, "exactly one of")]
    [InlineData("pub", new[] { "http://127.0.0.1:1883", "-t", "a", "-m", "x" }, "not an mqtt://")]
    [InlineData("pub", new[] { "mqtt://127.0.0.1:1883", "-t", "a", "-m", "x", "-q", "3" }, "-q takes 0, 1 or 2")]
    [InlineData("sub", new[] { "mqtt://127.0.0.1:1883" }, "at least one -t FILTER")]
    [InlineData("sub", new[] { "mqtt://127.0.0.1:1883", "-t", "a", "-c" }, "-c (a persistent session) needs -i ID")]
    [InlineData("sub", new[] { "mqtt://127.0.0.1:1883", "-t", "a/#/b" }, "not a valid topic filter")]
    [InlineData("broker", new[] { "--listen", "mqtts://127.0.0.1:0" }, "needs --cert FILE")]
    [InlineData("broker", new[] { "--self-signed" }, "need an mqtts:// or wss://")]
    public void Usage_errors_name_the_problem(string verb, string[] args, string message)
    {
        var sink = new Capture();
        var error = Assert.Throws<UsageException>(() => verb switch
        {
            "pub" => MqttPubCommand.Run(args, new StringReader(""), sink, sink, CancellationToken.None),
            "sub" => MqttSubCommand.Run(args, sink, sink, CancellationToken.None),
            _ => MqttBrokerCommand.Run(args, sink, sink, CancellationToken.None),
        });
        Assert.Contains(message, error.Message);
    }
}
