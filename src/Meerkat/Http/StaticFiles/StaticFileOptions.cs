// How this file works
// -------------------
// The plain options object of the static file planner. Every property has a documented,
// safe default; only Root is required.
namespace Meerkat.Http.StaticFiles;

/// <summary>What to do with paths that have a segment starting with "." (e.g. <c>/.git/config</c>, <c>/.env</c>).</summary>
public enum DotfilePolicy
{
    /// <summary>Answer 404 and leave them out of listings. <c>/.well-known/</c> (RFC 8615) is still served. The default.</summary>
    Deny,

    /// <summary>Serve them like any other file.</summary>
    Allow,
}

/// <summary>Options of <see cref="StaticFilePlanner"/>: where files live and how they are served.</summary>
public sealed class StaticFileOptions
{
    private string? root;
    private FileSource? directory;

    /// <summary>The directory to serve, when <see cref="Source"/> is not set. Symbolic links inside it are
    /// followed only while they stay inside its real path.</summary>
    public string? Root
    {
        get => root;
        set
        {
            root = value;
            directory = null;
        }
    }

    /// <summary>Where files come from: <see cref="FileSource.FromZip(string)"/>, <see cref="FileSource.FromEmbeddedResources"/>,
    /// your own; null (default) serves <see cref="Root"/>.</summary>
    public FileSource? Source { get; set; }

    /// <summary>Headers added to every response (e.g. <c>("X-Content-Type-Options", "nosniff")</c>). Default none.</summary>
    public IReadOnlyList<(string Name, string Value)> ResponseHeaders { get; set; } = [];

    /// <summary>A page of the source (e.g. <c>404.html</c>) sent, with status 404, for paths that do not exist. Default null: a short text.</summary>
    public string? NotFoundPage { get; set; }

    /// <summary>Single-page application: a GET or HEAD for a path that does not exist, from a browser navigating
    /// (Accept includes <c>text/html</c>) or for a path whose last segment has no extension, gets the root
    /// <see cref="IndexFile"/> with 200, so the application's client-side router can show it. Missing assets
    /// (<c>/app.js</c>) still get 404. Default false.</summary>
    public bool SinglePageApplication { get; set; }

    /// <summary>The file served for a directory request ending in "/". Null disables index files. Default <c>index.html</c>.</summary>
    public string? IndexFile { get; set; } = "index.html";

    /// <summary>Whether a directory without an index file gets an HTML listing (otherwise 404). Default false.</summary>
    public bool EnableDirectoryListing { get; set; }

    /// <summary>Whether <c>file.br</c> / <c>file.gz</c> next to <c>file</c> are sent to clients that accept them. Default true.</summary>
    public bool ServePrecompressed { get; set; } = true;

    /// <summary>The extension to Content-Type table. Default: a new <see cref="MimeTypeMap"/> with the built-in types.</summary>
    public MimeTypeMap MimeTypes { get; set; } = new();

    /// <summary>A Cache-Control value added to file responses and 304s, e.g. <c>public, max-age=3600</c>. Default null (none).</summary>
    public string? CacheControl { get; set; }

    /// <summary>How dotfiles are treated. Default <see cref="DotfilePolicy.Deny"/>.</summary>
    public DotfilePolicy Dotfiles { get; set; } = DotfilePolicy.Deny;

    /// <summary>The source to serve: <see cref="Source"/>, else the directory <see cref="Root"/>.</summary>
    /// <exception cref="InvalidOperationException">Neither is set.</exception>
    internal FileSource FileSource => Source ?? (directory ??= root is null
        ? throw new InvalidOperationException("StaticFileOptions needs a Root directory or a Source")
        : new DirectoryFileSource(root));
}
