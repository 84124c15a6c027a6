// A TCP echo client: sends a message (from args) or each line of stdin, prints the echoes.
// Usage: dotnet run --project examples/EchoClient [-- tcp://127.0.0.1:9000 [message...]]
using System.Text;
using Meerkat;

string url = args.Length > 0 ? args[0] : "tcp://127.0.0.1:9000";
string? message = args.Length > 1 ? string.Join(' ', args[1..]) : null;
using var manager = new Manager();
using var stdout = Console.OpenStandardOutput();
long outstanding = 0;   // bytes sent and not yet echoed back (loop thread only)
bool inputDone = false, failed = false;

var connection = manager.Connect(url, (c, e) =>
{
    switch (e.Kind)
    {
        case EventKind.Read:
            stdout.Write(c.Received);
            outstanding -= c.Received.Length;
            c.Consume(c.Received.Length);
            if (inputDone && outstanding <= 0) c.Close();
            break;
        case EventKind.Error: Console.Error.WriteLine($"error: {e.Error?.Message}"); failed = true; break;
        case EventKind.Close: manager.Stop(); break;
    }
});

// Other threads talk to the loop only through Post: it runs the action on the loop thread.
void Send(string text) => manager.Post(() => { byte[] b = Encoding.UTF8.GetBytes(text); outstanding += b.Length; connection.Send(b); });
void Finish() => manager.Post(() => { inputDone = true; if (outstanding <= 0) connection.Close(); });

var loop = manager.RunAsync();
if (message is not null) { Send(message + "\n"); Finish(); }
else _ = Task.Run(() => { while (Console.ReadLine() is { } line) Send(line + "\n"); Finish(); });
await loop;
return failed ? 1 : 0;
