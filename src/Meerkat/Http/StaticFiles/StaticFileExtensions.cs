// How this file works
// -------------------
// The glue between the static file planner and a server connection: plan the answer from the
// request (StaticFilePlanner, no socket), then send it. An in-memory body (a listing, an error
// text) goes out in one piece; a file body is streamed from its source entry by a producer the
// server calls whenever the connection can take more, so memory stays bounded at any size. The
// entry's reader is opened for the response only and released when the response completes or
// the connection closes. Everything runs on the loop thread.
using Meerkat.Http.Routing;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Http;

/// <summary>Answers requests from a <see cref="FileSource"/> (a directory, a zip archive, embedded resources): the plan comes
/// from <see cref="StaticFilePlanner"/> (safe paths, validators, ranges, precompressed variants), the body is streamed in bounded memory.</summary>
public static class StaticFileExtensions
{
    /// <summary>Answers the pending request from <paramref name="options"/>' source.</summary>
    /// <param name="connection">The server connection whose request is pending.</param>
    /// <param name="options">Source, index file, listing, precompression and fallback settings.</param>
    /// <param name="path">The raw (percent-encoded) path to resolve, with any query; null uses the request target.
    /// Pass the remainder after a mount prefix, e.g. <c>/a.txt</c> for <c>/files/a.txt</c>.</param>
    public static void ServeStatic(this Connection connection, StaticFileOptions options, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var transaction = HttpServerExtensions.Transaction(connection);
        var request = transaction.Request;
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
        if (plan.Entry is null)
        {
            // HEAD plans carry the length of the body they do not send.
            long declared = plan.StatusCode == 304 ? -1 : Math.Max(length, plan.Body.Length);
            connection.BeginResponse(plan.StatusCode, declared, contentType, headers.ToArray());
            connection.WriteBody(plan.Body.Span);
            connection.EndResponse();
            return;
        }
        var reader = plan.Entry.OpenReader(plan.FileOffset);
        long remaining = plan.FileLength;
        // The reader lives as long as the response: released when it completes or the connection closes.
        transaction.Resource = reader;
        connection.StreamResponse(plan.StatusCode, remaining, contentType, destination =>
        {
            if (remaining == 0) return 0;
            int n = reader.Read(destination[..(int)Math.Min(destination.Length, remaining)]);
            if (n == 0) throw new IOException($"'{plan.Entry.Path}' shrank while it was being sent");
            remaining -= n;
            return n;
        }, headers.ToArray());
    }

    /// <summary>Maps GET (and HEAD) <c>prefix/{*path}</c> to the files of <paramref name="options"/>: <c>prefix/css/a.css</c>
    /// serves <c>css/a.css</c> of the source. Other methods get the router's 405.</summary>
    public static Route MapStaticFiles(this RouteGroup group, string prefix, StaticFileOptions options)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(options);
        _ = options.FileSource; // a missing Root or Source throws here, not per request
        string template = prefix.TrimEnd('/') + "/{*path}";
        return group.MapGet(template, (c, e, route) =>
        {
            var request = e.Request!;
            var query = request.Query;
            if (route.GetRaw("path").IsEmpty && !request.Path.EndsWith("/"u8))
            {
                // "/static" names the mount's root directory: like any directory, it is "/static/".
                string location = System.Text.Encoding.Latin1.GetString(request.Path) + "/" + (query.IsEmpty ? "" : "?" + System.Text.Encoding.Latin1.GetString(query));
                c.Reply(301, "Moved Permanently\n", "text/plain; charset=utf-8", ("Location", location));
                return;
            }
            string rest = "/" + System.Text.Encoding.Latin1.GetString(route.GetRaw("path"));
            c.ServeStatic(options, query.IsEmpty ? rest : rest + "?" + System.Text.Encoding.Latin1.GetString(query));
        });
    }
}
