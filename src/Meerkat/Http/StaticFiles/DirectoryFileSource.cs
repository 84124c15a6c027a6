// How this file works
// -------------------
// Files under a directory of the file system. A relative path is joined to the *real* root and
// resolved with RealPath, following every symbolic link; if the real path is missing or leaves
// the real root, there is no entry (404). The root's real path is resolved per lookup, so a
// root that is itself a link may be repointed while serving. File bodies are read with
// RandomAccess on a handle held for the response only.
using Microsoft.Win32.SafeHandles;

namespace Meerkat.Http.StaticFiles;

/// <summary>A <see cref="FileSource"/> over a directory.</summary>
internal sealed class DirectoryFileSource : FileSource
{
    public DirectoryFileSource(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = root;
    }

    public string Root { get; }

    public override FileEntry? GetEntry(string path)
    {
        string? realRoot = RealPath.Resolve(Root);
        if (realRoot is null || !Directory.Exists(realRoot)) return null;
        string requested = path.Length == 0 ? realRoot : Path.Join([realRoot, .. path.Split('/')]);
        return Entry(path, requested, realRoot);
    }

    public override IEnumerable<FileEntry> GetChildren(FileEntry directory)
    {
        if (directory is not DiskEntry { IsDirectory: true } disk) yield break;
        string? realRoot = RealPath.Resolve(Root);
        if (realRoot is null) yield break;
        foreach (FileSystemInfo child in new DirectoryInfo(disk.RealPath).EnumerateFileSystemInfos())
        {
            string path = disk.Path.Length == 0 ? child.Name : disk.Path + "/" + child.Name;
            if (Entry(path, child.FullName, realRoot) is { } entry) yield return entry;
        }
    }

    /// <summary>The real path of <paramref name="path"/> when it exists inside <paramref name="realRoot"/>, else null.</summary>
    internal static string? Contained(string path, string realRoot)
    {
        string? real = RealPath.Resolve(path);
        return real is not null && RealPath.IsWithin(real, realRoot) ? real : null;
    }

    private static DiskEntry? Entry(string path, string requested, string realRoot)
    {
        string? real = Contained(requested, realRoot);
        if (real is null) return null;
        if (Directory.Exists(real)) return new DiskEntry(path, real, requested, null);
        return File.Exists(real) ? new DiskEntry(path, real, requested, new FileInfo(real)) : null;
    }
}

/// <summary>A file or directory on disk.</summary>
internal sealed class DiskEntry : FileEntry
{
    public DiskEntry(string path, string realPath, string requestedPath, FileInfo? file)
        : base(path, file is null, file?.Length ?? 0,
            new DateTimeOffset(file?.LastWriteTimeUtc ?? Directory.GetLastWriteTimeUtc(realPath), TimeSpan.Zero))
    {
        RealPath = realPath;
        RequestedPath = requestedPath;
        File = file;
    }

    /// <summary>The path with every link resolved.</summary>
    public string RealPath { get; }

    /// <summary>The path the URL named, links not resolved.</summary>
    public string RequestedPath { get; }

    public FileInfo? File { get; }

    public override Stream OpenRead() => new FileStream(RealPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);

    internal override FileBodyReader OpenReader(long offset) => new HandleBodyReader(RealPath, offset);

    private sealed class HandleBodyReader(string path, long offset) : FileBodyReader
    {
        private readonly SafeFileHandle handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        private long position = offset;

        public override int Read(Span<byte> destination)
        {
            int n = RandomAccess.Read(handle, destination, position);
            position += n;
            return n;
        }

        public override void Dispose() => handle.Dispose();
    }
}
