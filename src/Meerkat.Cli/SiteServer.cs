// How this file works
// -------------------
// What `meerkat serve [DIR|FILE.zip] [--auth USER:PASS | --auth-file FILE] [--cors ORIGIN]...
// [--header 'Name: value']... [--spa] [--listing] [--proxy PREFIX=URL]...` serves, as a router the
// command's loop runs: files from a directory or a zip archive behind one fallback route, reverse
// proxy mounts (each PREFIX forwarded to its URL with the prefix removed), with the router-wide
// settings the flags ask for (Basic authentication, CORS, extra headers), which the proxy mounts
// share. Mistakes in the settings throw ArgumentException naming the flag, for the command to
// report as usage errors.
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.Proxy;
using Meerkat.Http.Routing;
using Meerkat.Http.StaticFiles;

namespace Meerkat.Cli;

/// <summary>The settings of <c>meerkat serve</c>, as parsed from its arguments.</summary>
internal sealed record SiteSettings
{
    /// <summary>A directory or a <c>.zip</c> file; null for the current directory.</summary>
    public string? Path { get; init; }

    /// <summary><c>--auth USER:PASS</c>.</summary>
    public string? Auth { get; init; }

    /// <summary><c>--auth-file FILE</c> of <c>user:password</c> lines.</summary>
    public string? AuthFile { get; init; }

    /// <summary><c>--cors ORIGIN</c>, repeatable; <c>*</c> for any.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary><c>--header 'Name: value'</c>, repeatable.</summary>
    public IReadOnlyList<string> Headers { get; init; } = [];

    /// <summary><c>--spa</c>: unknown paths get <c>index.html</c>.</summary>
    public bool Spa { get; init; }

    /// <summary><c>--listing</c>: directories without an index are listed.</summary>
    public bool Listing { get; init; }

    /// <summary><c>--proxy PREFIX=URL</c>, repeatable: reverse proxy mounts.</summary>
    public IReadOnlyList<string> Proxies { get; init; } = [];
}

/// <summary>Builds the router of <c>meerkat serve</c>.</summary>
internal static class SiteServer
{
    /// <summary>The router serving <paramref name="settings"/>; <paramref name="description"/> says what it serves.
    /// With <paramref name="metrics"/>, <c>GET /metrics</c> answers its exposition (behind the same filters).</summary>
    /// <exception cref="ArgumentException">A flag's value is unusable (the message names it).</exception>
    public static Router Build(SiteSettings settings, out string description, PrometheusMetrics? metrics = null)
    {
        var files = new StaticFileOptions
        {
            EnableDirectoryListing = settings.Listing,
            SinglePageApplication = settings.Spa,
        };
        string path = System.IO.Path.GetFullPath(settings.Path ?? Directory.GetCurrentDirectory());
        if (File.Exists(path) && path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                files.Source = FileSource.FromZip(path);
            }
            catch (InvalidDataException error)
            {
                throw new ArgumentException(error.Message);
            }
            description = $"serving {path} (zip archive)";
        }
        else if (Directory.Exists(path))
        {
            files.Root = path;
            description = $"serving {path}";
        }
        else
        {
            throw new ArgumentException($"'{path}' is neither a directory nor a .zip file");
        }
        var router = new Router();
        Configure(router, settings);
        foreach (var text in settings.Proxies)
        {
            var (prefix, url) = ParseProxy(text);
            try
            {
                router.MapProxy(prefix, url);
            }
            catch (Exception error) when (error is ArgumentException or NotSupportedException)
            {
                throw new ArgumentException($"--proxy '{text}': {error.Message}");
            }
            description += $"\nproxying {prefix} to {url}";
        }
        if (metrics is not null) router.MapGet("/metrics", (c, e, route) => metrics.Reply(c));
        bool hintAtRoot = files.Root is { } root && !settings.Listing && !settings.Spa && !File.Exists(System.IO.Path.Combine(root, "index.html"));
        if (hintAtRoot) description += "\n" + NoIndexHint;
        router.MapFallback((c, e, route) =>
        {
            if (hintAtRoot && e.Request!.PathIs("/"u8)) c.Reply(404, NoIndexHint + "\n");
            else c.ServeStatic(files);
        });
        return router;
    }

    /// <summary>What <c>/</c> answers for a directory without index.html, unless --listing or --spa.</summary>
    public const string NoIndexHint = "no index.html at /: add --listing to list the directory's files";

    /// <summary>Splits <c>PREFIX=URL</c>: the prefix starts with <c>/</c>, the URL is http:// or https://.</summary>
    /// <exception cref="ArgumentException">The text is not of that shape.</exception>
    public static (string Prefix, string Url) ParseProxy(string text)
    {
        int equals = text.IndexOf('=');
        if (equals <= 0 || text[0] != '/' || equals == text.Length - 1)
            throw new ArgumentException($"--proxy takes PREFIX=URL (e.g. /api=http://127.0.0.1:9000), not '{text}'");
        return (text[..equals], text[(equals + 1)..]);
    }

    /// <summary>Applies the authentication, CORS and header flags to every route of <paramref name="group"/>.</summary>
    public static void Configure(RouteGroup group, SiteSettings settings)
    {
        if (settings.Auth is not null && settings.AuthFile is not null)
            throw new ArgumentException("--auth and --auth-file are alternatives: give one");
        if (Credentials(settings) is { } credentials) group.RequireBasicAuth(credentials);
        if (settings.CorsOrigins.Count > 0)
        {
            try
            {
                group.WithCors(new CorsPolicy([.. settings.CorsOrigins]));
            }
            catch (ArgumentException error)
            {
                throw new ArgumentException($"--cors: {error.Message}");
            }
        }
        foreach (var text in settings.Headers)
        {
            try
            {
                group.WithResponseHeaders(ParseHeader(text));
            }
            catch (ArgumentException error) when (!error.Message.StartsWith("--header", StringComparison.Ordinal))
            {
                throw new ArgumentException($"--header '{text}': {error.Message}");
            }
        }
    }

    /// <summary>Splits <c>Name: value</c> (the router checks the name and value when it takes them).</summary>
    /// <exception cref="ArgumentException">No colon, or nothing before it.</exception>
    public static (string Name, string Value) ParseHeader(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0) throw new ArgumentException($"--header takes 'Name: value', not '{text}'");
        return (text[..colon].Trim(), text[(colon + 1)..].Trim());
    }

    private static BasicCredentials? Credentials(SiteSettings settings)
    {
        try
        {
            if (settings.Auth is { } auth) return BasicCredentials.Parse(auth);
            if (settings.AuthFile is { } file) return BasicCredentials.FromFile(file);
            return null;
        }
        catch (FormatException error)
        {
            throw new ArgumentException($"{(settings.Auth is null ? "--auth-file" : "--auth")}: {error.Message}");
        }
        catch (IOException error)
        {
            throw new ArgumentException($"--auth-file: {error.Message}");
        }
    }
}
