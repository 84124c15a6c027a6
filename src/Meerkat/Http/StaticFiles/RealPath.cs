// How this file works
// -------------------
// .NET has no realpath(3), so this is one: it walks an absolute path component by
// component from the file-system root, and whenever a component is a symbolic link it
// splices the link's target (relative to the link's directory, or absolute) in front of the
// components still to walk. ".." is applied to the already-resolved prefix, which is what
// the kernel does. The result names the real file or directory with no link anywhere in
// it, or null when something does not exist or the links loop (more than MaxLinkHops).
namespace Meerkat.Http.StaticFiles;

/// <summary>Resolves absolute paths to their real location, following every symbolic link.</summary>
internal static class RealPath
{
    // Linux's MAXSYMLINKS.
    private const int MaxLinkHops = 40;

    /// <summary>The real path of <paramref name="path"/>, or null when it does not exist or links loop.</summary>
    public static string? Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full) ?? "";
        string current = root;
        var pending = new Stack<string>(Split(full[root.Length..]).Reverse());
        int hops = 0;
        while (pending.Count > 0)
        {
            string component = pending.Pop();
            if (component == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }
            string next = Path.Join(current, component);
            FileSystemInfo info = new FileInfo(next);
            if (!info.Exists)
            {
                info = new DirectoryInfo(next);
                if (!info.Exists && info.LinkTarget is null)
                {
                    return null;
                }
            }
            string? target = info.LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++hops > MaxLinkHops)
            {
                return null;
            }
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target) ?? root;
                target = target[current.Length..];
            }
            foreach (string part in Split(target).Reverse())
            {
                pending.Push(part);
            }
        }
        return current;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> itself or lies beneath it. Both must be real paths.</summary>
    public static bool IsWithin(string path, string root)
    {
        StringComparison comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
            ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string trimmedRoot = Path.TrimEndingDirectorySeparator(root);
        if (path.Equals(trimmedRoot, comparison))
        {
            return true;
        }
        return path.StartsWith(trimmedRoot + Path.DirectorySeparatorChar, comparison)
            || (trimmedRoot.Length > 0 && trimmedRoot[^1] == Path.DirectorySeparatorChar && path.StartsWith(trimmedRoot, comparison));
    }

    private static IEnumerable<string> Split(string relative) =>
        relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries)
            .Where(part => part != ".");
}
