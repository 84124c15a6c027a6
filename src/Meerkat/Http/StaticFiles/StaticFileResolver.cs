// How this file works
// -------------------
// Maps a raw request target to an entry of the options' FileSource, never outside it:
//   1. RequestPath decodes and normalises the target (400 for anything malformed).
//   2. Segments are vetted as file names: dotfiles per policy (404), characters the platform
//      forbids in names (404), and on Windows trailing dots/spaces, which the OS strips
//      ("index.html." would otherwise read index.html by another name).
//   3. The source looks the path up (a directory source resolves every symbolic link and
//      refuses a real path outside its real root): missing is 404.
//   4. A directory without a trailing slash redirects (301) to the canonical path + "/";
//      with one, it serves the index file, else a listing when enabled, else 404.
//      A file named with a trailing slash is 404, as for the kernel (ENOTDIR).
// Listings show only entries that pass the same dotfile checks.
namespace Meerkat.Http.StaticFiles;

/// <summary>Resolves request targets to files, directories or listings of a <see cref="FileSource"/>. Stateless.</summary>
internal static class StaticFileResolver
{
    private const char Dot = '.';
    private const string WellKnown = ".well-known";

    private static readonly char[] InvalidNameChars = Path.GetInvalidFileNameChars();

    /// <summary>Resolves a raw request target against the options' source (<see cref="StaticFileOptions.Source"/>
    /// or <see cref="StaticFileOptions.Root"/>).</summary>
    /// <param name="options">The source, index file, listing and dotfile settings.</param>
    /// <param name="rawTarget">The request target as received, percent-encoded, with or without query.</param>
    /// <returns>What to serve. Never throws for peer input.</returns>
    public static StaticFileResolution Resolve(StaticFileOptions options, string rawTarget)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rawTarget);
        if (!RequestPath.TryParse(rawTarget, out RequestPath? path))
        {
            return StaticFileResolution.BadRequest;
        }
        if (!path!.Segments.All(s => IsServableName(s, options.Dotfiles)))
        {
            return StaticFileResolution.NotFound;
        }
        FileSource source = options.FileSource;
        FileEntry? entry = source.GetEntry(string.Join('/', path.Segments));
        if (entry is null)
        {
            return StaticFileResolution.NotFound;
        }
        if (entry.IsDirectory)
        {
            return ResolveDirectory(options, source, path, entry);
        }
        return path.IsDirectoryReference ? StaticFileResolution.NotFound : StaticFileResolution.ForEntry(entry);
    }

    /// <summary>The real path of <paramref name="path"/> when it exists inside <paramref name="realRoot"/>, else null.</summary>
    /// <param name="path">Any path.</param>
    /// <param name="realRoot">The root, already resolved to its real path.</param>
    /// <returns>The real path, or null when missing or outside the root.</returns>
    internal static string? Contained(string path, string realRoot) => DirectoryFileSource.Contained(path, realRoot);

    private static StaticFileResolution ResolveDirectory(StaticFileOptions options, FileSource source, RequestPath path, FileEntry directory)
    {
        if (path.Segments.Count > 0 && !path.IsDirectoryReference)
        {
            string location = path.ToEncodedPath(withTrailingSlash: true);
            return StaticFileResolution.RedirectTo(path.Query is null ? location : location + "?" + path.Query);
        }
        if (options.IndexFile is { Length: > 0 } index
            && source.GetEntry(directory.Path.Length == 0 ? index : directory.Path + "/" + index) is { IsDirectory: false } indexEntry)
        {
            return StaticFileResolution.ForEntry(indexEntry);
        }
        if (!options.EnableDirectoryListing)
        {
            return StaticFileResolution.NotFound;
        }
        string displayPath = path.Segments.Count == 0 ? "/" : "/" + string.Join('/', path.Segments) + "/";
        IEnumerable<DirectoryListingEntry> entries = source.GetChildren(directory)
            .Where(e => IsServableName(e.Name, options.Dotfiles))
            .Select(e => new DirectoryListingEntry(e.Name, e.IsDirectory, e.IsDirectory ? 0 : e.Length, e.LastModified));
        return StaticFileResolution.ForListing(DirectoryListing.Render(displayPath, entries, path.Segments.Count > 0));
    }

    /// <summary>Whether a decoded segment may name a served file (see the file header, step 2).</summary>
    internal static bool IsServableName(string segment, DotfilePolicy dotfiles)
    {
        if (segment.Length == 0 || segment.AsSpan().IndexOfAny(InvalidNameChars) >= 0)
        {
            return false;
        }
        if (segment[0] == Dot && dotfiles == DotfilePolicy.Deny && segment != WellKnown)
        {
            return false;
        }
        // Windows silently strips trailing dots and spaces from names (and "a:b" names a stream,
        // but ':' is already in InvalidNameChars there).
        return !OperatingSystem.IsWindows() || (segment[^1] != Dot && segment[^1] != ' ');
    }
}
