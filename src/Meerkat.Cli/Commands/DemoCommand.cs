using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Cli;

/// <summary>
/// <c>meerkat demo</c>: one server showing every feature, each endpoint a few lines of handler.
/// </summary>
internal static class DemoCommand
{
    public static int Run(string[] args)
    {
        var listen = new List<string>();
        string root = Directory.GetCurrentDirectory();
        var arguments = new Arguments(args);
        var tls = new TlsArguments();
        while (arguments.TryNext(out var argument))
        {
            switch (argument)
            {
                case "--listen": listen.Add(arguments.Value(argument)); break;
                case "--root": root = arguments.Value(argument); break;
                case "--cert" or "--key" or "--self-signed": tls.Take(argument, arguments); break;
                default: throw new UsageException($"unknown argument '{argument}'");
            }
        }
        if (listen.Count == 0) listen.Add("http://127.0.0.1:8000");
        if (!Directory.Exists(root)) throw new UsageException($"--root '{root}' is not a directory");
        return Server.Run(listen, tls, manager => new Demo(manager, Path.GetFullPath(root)).Handle);
    }

    private sealed class Demo(Manager manager, string root)
    {
        private readonly StaticFileOptions files = new() { Root = root, EnableDirectoryListing = true };

        public void Handle(Connection c, Event e)
        {
            switch (e.Kind)
            {
                case EventKind.HttpHeaders when e.Request!.PathIs("/upload"u8):
                    e.Request!.StreamBody = true;
                    c.Tag = new Upload();
                    break;
                case EventKind.HttpBody when c.Tag is Upload upload:
                    upload.Hash.AppendData(e.Data);
                    upload.Bytes += e.Data.Length;
                    break;
                case EventKind.HttpMessage:
                    Route(c, e.Request!);
                    break;
                case EventKind.Wakeup:
                    c.Reply(200, e.Data, "application/json");
                    break;
                case EventKind.Timer when c.Tag is SseState sse:
                    SendNextEvent(c, sse, e.Timer!);
                    break;
                case EventKind.Close:
                    (c.Tag as IDisposable)?.Dispose();
                    break;
            }
        }

        private void Route(Connection c, HttpRequest request)
        {
            string path = request.PathString;
            if (path == "/") c.Reply(200, Dashboard.Html, "text/html; charset=utf-8");
            else if (path == "/plaintext") c.Reply(200, "Hello, World!"u8, "text/plain");
            else if (path == "/json") c.Reply(200, """{"message":"Hello, World!"}"""u8, "application/json");
            else if (path == "/echo" && (request.IsMethod("POST"u8) || request.IsMethod("PUT"u8)))
                c.Reply(200, request.Body, request.GetHeader("Content-Type") ?? "application/octet-stream");
            else if (path == "/upload" && request.IsMethod("POST"u8)) ReplyUpload(c);
            else if (TrySuffix(path, "/bytes/", out long n)) StreamBytes(c, n, chunked: false);
            else if (TrySuffix(path, "/stream-bytes/", out n)) StreamBytes(c, n, chunked: true);
            else if (TrySuffix(path, "/delay/", out n)) Delay(c, n);
            else if (TrySuffix(path, "/status/", out n) && n is >= 200 and <= 999) c.Reply((int)n, ReadOnlySpan<byte>.Empty);
            else if (path == "/sse") StartEvents(c, request);
            else if (path == "/files") c.Reply(301, ReadOnlySpan<byte>.Empty, null, ("Location", "/files/"));
            else if (path.StartsWith("/files/", StringComparison.Ordinal))
                c.ServeStatic(files, Encoding.Latin1.GetString(request.Target)[6..]);
            else c.Reply(404, $"no such endpoint: {path}\n");
        }

        private sealed class Upload : IDisposable
        {
            public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            public long Bytes { get; set; }
            public void Dispose() => Hash.Dispose();
        }

        /// <summary>The body was streamed through a hash: memory stays flat for any upload size.</summary>
        private static void ReplyUpload(Connection c)
        {
            using var upload = (Upload)c.Tag!;
            c.Tag = null;
            var digest = Convert.ToHexStringLower(upload.Hash.GetHashAndReset());
            c.Reply(200, $$"""{"bytes":{{upload.Bytes}},"sha256":"{{digest}}"}""", "application/json");
        }

        /// <summary>N bytes, byte i being i mod 256, produced as the connection drains: flat memory for any N.</summary>
        private static void StreamBytes(Connection c, long count, bool chunked)
        {
            long sent = 0;
            c.StreamResponse(200, chunked ? -1 : count, "application/octet-stream", destination =>
            {
                int n = (int)Math.Min(destination.Length, count - sent);
                for (int i = 0; i < n; i++) destination[i] = (byte)(sent + i);
                sent += n;
                return n;
            });
        }

        /// <summary>A deferred response: a worker thread answers through a wakeup.</summary>
        private void Delay(Connection c, long milliseconds)
        {
            long id = c.Id;
            _ = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(milliseconds, 60_000)));
                manager.Wakeup(id, Encoding.UTF8.GetBytes($$"""{"delayed_ms":{{milliseconds}}}"""));
            });
        }

        private sealed class SseState(int count)
        {
            public int Count { get; } = count;
            public int Sent { get; set; }
        }

        private static void StartEvents(Connection c, HttpRequest request)
        {
            int count = int.TryParse(request.GetQueryParameter("count"), CultureInfo.InvariantCulture, out var k) ? Math.Clamp(k, 0, 10_000) : 10;
            int interval = int.TryParse(request.GetQueryParameter("interval"), CultureInfo.InvariantCulture, out var ms) ? Math.Clamp(ms, 0, 60_000) : 1000;
            c.BeginEventStream();
            if (count == 0) { c.EndResponse(); return; }
            c.Tag = new SseState(count);
            c.AddTimer(TimeSpan.Zero, TimeSpan.FromMilliseconds(Math.Max(interval, 1)));
        }

        private static void SendNextEvent(Connection c, SseState sse, ManagerTimer timer)
        {
            c.SendEvent(sse.Sent.ToString(CultureInfo.InvariantCulture));
            if (++sse.Sent < sse.Count) return;
            timer.Cancel();
            c.Tag = null;
            c.EndResponse();
        }

        private static bool TrySuffix(string path, string prefix, out long value)
        {
            value = 0;
            return path.StartsWith(prefix, StringComparison.Ordinal)
                && long.TryParse(path.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }
    }
}
