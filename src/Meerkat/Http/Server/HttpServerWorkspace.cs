// How this file works: what an HTTP/1.1 server connection needs only while a request is in progress
// (the message reader and its head, the buffered body, the request and response objects, the copy of
// a head whose body follows) lives in one workspace. A connection leases one from its listener's
// pool when the first byte of a request arrives and gives it back once it is idle again (the
// request's Done delivered, no byte of the next one buffered), so thousands of idle keep-alive
// connections hold none of it. Renting and returning allocate nothing once the pool is warm.
namespace Meerkat.Http;

/// <summary>The per-request state of an HTTP/1.1 server connection, leased from a <see cref="HttpServerWorkspacePool"/>.
/// Loop thread only.</summary>
internal sealed class HttpServerWorkspace
{
    private readonly HttpLimits limits;
    private byte[] headCopy = [];
    private HttpMessageReader? headCopyReader;

    public HttpServerWorkspace(HttpServerOptions options, TimeProvider time)
    {
        limits = options.Limits;
        Reader = new HttpMessageReader(isRequest: true, limits);
        Body = new IoBuffer(16 * 1024, (int)Math.Min(options.MaxBufferedBodySize, int.MaxValue));
        Response = new ResponseWriter(time);
    }

    /// <summary>Reads the request heads and bodies; views point into the connection's receive buffer.</summary>
    public HttpMessageReader Reader { get; }

    /// <summary>A body the handler did not stream, until its Message has been raised.</summary>
    public IoBuffer Body { get; }

    /// <summary>The request of the open transaction.</summary>
    public HttpRequest Request { get; } = new();

    public ResponseWriter Response { get; }

    /// <summary>Parses a copy of <paramref name="head"/>, so that it stays readable while the body moves
    /// through the connection's receive buffer.</summary>
    public HttpHead StableCopy(ReadOnlySpan<byte> head)
    {
        if (headCopy.Length < head.Length) headCopy = new byte[Math.Max(head.Length, 1024)];
        head.CopyTo(headCopy);
        headCopyReader ??= new HttpMessageReader(isRequest: true, limits);
        headCopyReader.Restart();
        headCopyReader.Read(headCopy.AsMemory(0, head.Length), false, out _);
        return headCopyReader.Head;
    }

    /// <summary>Ready for a connection's next request: the reader expects a head.</summary>
    public void Start() => Reader.Restart();

    /// <summary>Lets go of everything that belongs to the connection that used it: the body's array goes
    /// back to the array pool, the response's resource is disposed, the request forgets its connection.</summary>
    public void Clear()
    {
        Body.Release();
        Response.Reset();
        Request.Clear();
    }
}

/// <summary>
/// The workspaces of one listener's connections on one loop: a connection rents one when a request
/// begins and returns it when the connection goes idle. Loop thread only (a listener belongs to one
/// manager). Keeps at most <see cref="MaxKept"/>: enough for the requests in progress at once on a
/// loop in most servers; a workspace returned beyond that is left to the GC.
/// </summary>
internal sealed class HttpServerWorkspacePool(HttpServerOptions options, TimeProvider time)
{
    /// <summary>The most workspaces kept for reuse.</summary>
    public const int MaxKept = 256;

    private readonly Stack<HttpServerWorkspace> kept = new();

    /// <summary>The listener's deadlines, which every connection's clocks read.</summary>
    public ServerDeadlineLimits DeadlineLimits { get; } = new(options);

    /// <summary>Workspaces kept for reuse now.</summary>
    public int KeptCount => kept.Count;

    /// <summary>A workspace ready for a request (reused when one is kept).</summary>
    public HttpServerWorkspace Rent()
    {
        var workspace = kept.TryPop(out var reused) ? reused : new HttpServerWorkspace(options, time);
        workspace.Start();
        return workspace;
    }

    /// <summary>Takes back a workspace its connection no longer needs.</summary>
    public void Return(HttpServerWorkspace workspace)
    {
        workspace.Clear();
        if (kept.Count < MaxKept) kept.Push(workspace);
    }
}
