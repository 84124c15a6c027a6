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
    /// <summary>The directory to serve. Required. Symbolic links inside it are followed only while they stay inside its real path.</summary>
    public required string Root { get; set; }

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
}
