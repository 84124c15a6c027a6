using Meerkat.Http.StaticFiles;

namespace Meerkat.Http;

/// <summary>Answers requests from a directory: the plan comes from <see cref="StaticFilePlanner"/>
/// (safe paths, validators, ranges, precompressed variants), the file is streamed in bounded memory.</summary>
public static class StaticFileServing
{
    /// <summary>Answers the pending request from <paramref name="options"/>'s root.</summary>
    /// <param name="connection">The server connection whose request is pending.</param>
    /// <param name="options">Root, index file, listing and precompression settings.</param>
    /// <param name="path">The raw (percent-encoded) path to resolve, with any query; null uses the request target.
    /// Pass the remainder after a mount prefix, e.g. <c>/a.txt</c> for <c>/files/a.txt</c>.</param>
    public static void ServeStatic(this Connection connection, StaticFileOptions options, string? path = null)
    {
        var request = (connection.Protocol as HttpServerProtocol)?.Request
            ?? throw new InvalidOperationException($"connection #{connection.Id} is not an HTTP server connection");
        string target = path ?? System.Text.Encoding.Latin1.GetString(request.Target);
        var plan = StaticFilePlanner.Plan(options, request.MethodString, target, name => request.GetHeader(name));
        long length = -1;
        var headers = new List<(string, string)>(plan.Headers.Count);
        foreach (var (name, value) in plan.Headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) length = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            else if (!name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) headers.Add((name, value));
        }
        string? contentType = plan.GetHeader("Content-Type");
        if (plan.StatusCode == 304) length = -1;
        if (plan.FilePath is null)
        {
            // HEAD plans carry the length of the body they do not send.
            long declared = plan.StatusCode == 304 ? -1 : Math.Max(length, plan.Body.Length);
            connection.BeginResponse(plan.StatusCode, declared, contentType, headers.ToArray());
            connection.WriteBody(plan.Body.Span);
            connection.EndResponse();
            return;
        }
        var handle = File.OpenHandle(plan.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long offset = plan.FileOffset, remaining = plan.FileLength;
        var protocol = (HttpServerProtocol)connection.Protocol!;
        // The handle lives as long as the response: released when it completes or the connection closes.
        protocol.Response.Resource = handle;
        connection.StreamResponse(plan.StatusCode, remaining, contentType, destination =>
        {
            if (remaining == 0) return 0;
            int n = RandomAccess.Read(handle, destination[..(int)Math.Min(destination.Length, remaining)], offset);
            if (n == 0) throw new IOException($"{plan.FilePath} shrank while it was being sent");
            offset += n;
            remaining -= n;
            return n;
        }, headers.ToArray());
    }
}
