// How this file works
// -------------------
// The closed vocabulary of what a request path resolves to, before any HTTP header is
// looked at: a small record whose Kind says which of the other properties are set.
namespace Meerkat.Http.StaticFiles;

/// <summary>What a request path resolved to.</summary>
internal enum ResolutionKind
{
    /// <summary>Nothing servable there (missing, outside the root, hidden dotfile, file with a trailing slash): 404.</summary>
    NotFound,

    /// <summary>The request target is malformed (bad escape, NUL, encoded slash, backslash, ".." above the root): 400.</summary>
    BadRequest,

    /// <summary>A directory was named without its trailing slash: 301 to <see cref="StaticFileResolution.Location"/>.</summary>
    Redirect,

    /// <summary>A regular file: <see cref="StaticFileResolution.File"/>.</summary>
    File,

    /// <summary>A directory listing: <see cref="StaticFileResolution.ListingHtml"/>.</summary>
    Listing,
}

/// <summary>The outcome of <see cref="StaticFileResolver.Resolve"/>.</summary>
internal sealed record StaticFileResolution
{
    private StaticFileResolution(ResolutionKind kind) => Kind = kind;

    /// <summary>Which case this is; it says which other properties are set.</summary>
    public ResolutionKind Kind { get; }

    /// <summary>For <see cref="ResolutionKind.Redirect"/>: the Location value, an absolute path starting with a single "/".</summary>
    public string? Location { get; private init; }

    /// <summary>For <see cref="ResolutionKind.File"/>: the entry of the source.</summary>
    public FileEntry? Entry { get; private init; }

    /// <summary>For <see cref="ResolutionKind.File"/> from a directory: the file at its real path (symbolic links
    /// resolved), inside the real root; null for other sources.</summary>
    public FileInfo? File { get; private init; }

    /// <summary>
    /// For <see cref="ResolutionKind.File"/>: the path the URL named (links not resolved; for sources other than
    /// a directory, the entry's relative path), whose extension gives the Content-Type.
    /// </summary>
    public string? RequestedFilePath { get; private init; }

    /// <summary>For <see cref="ResolutionKind.Listing"/>: the rendered UTF-8 HTML.</summary>
    public byte[]? ListingHtml { get; private init; }

    /// <summary>The 404 result.</summary>
    public static StaticFileResolution NotFound { get; } = new(ResolutionKind.NotFound);

    /// <summary>The 400 result.</summary>
    public static StaticFileResolution BadRequest { get; } = new(ResolutionKind.BadRequest);

    /// <summary>Creates a redirect result.</summary>
    /// <param name="location">The Location value.</param>
    /// <returns>A <see cref="ResolutionKind.Redirect"/> result.</returns>
    public static StaticFileResolution RedirectTo(string location) =>
        new(ResolutionKind.Redirect) { Location = location };

    /// <summary>Creates a file result for an entry of a source.</summary>
    /// <param name="entry">The file.</param>
    /// <returns>A <see cref="ResolutionKind.File"/> result.</returns>
    public static StaticFileResolution ForEntry(FileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var disk = entry as DiskEntry;
        return new(ResolutionKind.File) { Entry = entry, File = disk?.File, RequestedFilePath = disk?.RequestedPath ?? entry.Path };
    }

    /// <summary>Creates a listing result.</summary>
    /// <param name="html">The rendered page.</param>
    /// <returns>A <see cref="ResolutionKind.Listing"/> result.</returns>
    public static StaticFileResolution ForListing(byte[] html) =>
        new(ResolutionKind.Listing) { ListingHtml = html };
}
