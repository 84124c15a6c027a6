using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Meerkat.Tests.Tls;

/// <summary>SslStream servers that misbehave in the ways DESIGN.md §4.3 is about, one connection each.</summary>
internal sealed class SslStreamPeer : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);

    public SslStreamPeer() => listener.Start();

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Accepts one connection, handshakes, reads the request head, then lets <paramref name="respond"/> answer.</summary>
    public Task ServeOnceAsync(Func<Socket, SslStream, CaptureStream, Task> respond) => Task.Run(async () =>
    {
        using var socket = await listener.AcceptSocketAsync();
        var capture = new CaptureStream(new NetworkStream(socket, ownsSocket: false));
        await using var ssl = new SslStream(capture, leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = TestCertificates.Localhost });
        await ReadHeadAsync(ssl);
        await respond(socket, ssl, capture);
    });

    public static string Head(int contentLength) => $"HTTP/1.1 200 OK\r\nContent-Length: {contentLength}\r\nConnection: close\r\n\r\n";

    public static byte[] Body(int length) => Enumerable.Range(0, length).Select(i => (byte)('a' + i % 26)).ToArray();

    public void Dispose() => listener.Stop();

    private static async Task ReadHeadAsync(SslStream ssl)
    {
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await ssl.ReadAsync(buffer);
            if (n == 0) throw new IOException("the client closed before its request head");
            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }
}

/// <summary>A stream that keeps what is written, so a test can put records on the wire in one send.</summary>
internal sealed class CaptureStream(Stream inner) : Stream
{
    public MemoryStream Captured { get; } = new();

    public bool IsCapturing { get; set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => IsCapturing ? Task.CompletedTask : inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count)
    {
        if (IsCapturing) Captured.Write(buffer, offset, count);
        else inner.Write(buffer, offset, count);
    }
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!IsCapturing) return inner.WriteAsync(buffer, cancellationToken);
        Captured.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }
}
