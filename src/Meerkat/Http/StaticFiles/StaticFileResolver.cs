// How this file works
// -------------------
// Maps a raw request target to something on disk, never outside the root:
//   1. RequestPath decodes and normalises the target (400 for anything malformed).
//   2. Segments are vetted as file names: dotfiles per policy (404), characters the platform
//      forbids in names (404), and on Windows trailing dots/spaces, which the OS strips
//      ("index.html." would otherwise read index.html by another name).
//   3. The candidate path under the *real* root is resolved with RealPath, following every
//      symbolic link; if the real path is missing or leaves the real root: 404.
//   4. A directory without a trailing slash redirects (301) to the canonical path + "/";
//      with one, it serves the index file, else a listing when enabled, else 404.
//      A file named with a trailing slash is 404, as for the kernel (ENOTDIR).
// Listings show only entries that pass the same dotfile and containment checks.
namespace Meerkat.Http.StaticFiles;

/// <summary>Resolves request targets to files, directories or listings under a root. Stateless.</summary>
public static class StaticFileResolver
{
    private const char Dot = '.';
    private const string WellKnown = ".well-known";

    private static readonly char[] InvalidNameChars = Path.GetInvalidFileNameChars();

    /// <summary>Resolves a raw request target against <see cref="StaticFileOptions.Root"/>.</summary>
    /// <param name="options">The root, index file, listing and dotfile settings.</param>
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
        string? realRoot = RealPath.Resolve(options.Root);
        if (realRoot is null || !Directory.Exists(realRoot) || !path!.Segments.All(s => IsServableName(s, options.Dotfiles)))
        {
            return StaticFileResolution.NotFound;
        }
        string requested = Path.Join([realRoot, .. path.Segments]);
        string? real = Contained(requested, realRoot);
        if (real is null)
        {
            return StaticFileResolution.NotFound;
        }
        if (Directory.Exists(real))
        {
            return ResolveDirectory(options, path, requested, real, realRoot);
        }
        return File.Exists(real) && !path.IsDirectoryReference
            ? StaticFileResolution.ForFile(new FileInfo(real), requested)
            : StaticFileResolution.NotFound;
    }

    /// <summary>The real path of <paramref name="path"/> when it exists inside <paramref name="realRoot"/>, else null.</summary>
    /// <param name="path">Any path.</param>
    /// <param name="realRoot">The root, already resolved to its real path.</param>
    /// <returns>The real path, or null when missing or outside the root.</returns>
    internal static string? Contained(string path, string realRoot)
    {
        string? real = RealPath.Resolve(path);
        return real is not null && RealPath.IsWithin(real, realRoot) ? real : null;
    }

    private static StaticFileResolution ResolveDirectory(
        StaticFileOptions options, RequestPath path, string requested, string real, string realRoot)
    {
        if (path.Segments.Count > 0 && !path.IsDirectoryReference)
        {
            string location = path.ToEncodedPath(withTrailingSlash: true);
            return StaticFileResolution.RedirectTo(path.Query is null ? location : location + "?" + path.Query);
        }
        if (options.IndexFile is { Length: > 0 } index)
        {
            string indexPath = Path.Join(requested, index);
            string? realIndex = Contained(indexPath, realRoot);
            if (realIndex is not null && File.Exists(realIndex))
            {
                return StaticFileResolution.ForFile(new FileInfo(realIndex), indexPath);
            }
        }
        if (!options.EnableDirectoryListing)
        {
            return StaticFileResolution.NotFound;
        }
        string displayPath = path.Segments.Count == 0 ? "/" : "/" + string.Join('/', path.Segments) + "/";
        IEnumerable<DirectoryListingEntry> entries = ListEntries(new DirectoryInfo(real), options.Dotfiles, realRoot);
        return StaticFileResolution.ForListing(DirectoryListing.Render(displayPath, entries, path.Segments.Count > 0));
    }

    private static IEnumerable<DirectoryListingEntry> ListEntries(DirectoryInfo directory, DotfilePolicy dotfiles, string realRoot)
    {
        foreach (FileSystemInfo entry in directory.EnumerateFileSystemInfos())
        {
            string? real = IsServableName(entry.Name, dotfiles) ? Contained(entry.FullName, realRoot) : null;
            if (real is null)
            {
                continue;
            }
            if (Directory.Exists(real))
            {
                yield return new DirectoryListingEntry(entry.Name, true, 0, Directory.GetLastWriteTimeUtc(real));
            }
            else
            {
                var file = new FileInfo(real);
                yield return new DirectoryListingEntry(entry.Name, false, file.Length, file.LastWriteTimeUtc);
            }
        }
    }

    private static bool IsServableName(string segment, DotfilePolicy dotfiles)
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
