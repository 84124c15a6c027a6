// How this file works
// -------------------
// The entries of a zip archive, indexed once from its central directory: each file by its
// "/"-separated name, each directory (explicit or implied by a file under it) with its children.
// Names that could escape or confuse the tree (absolute, with "..", "." or empty segments, with
// backslashes or NUL) are left out. A file's entity tag is its CRC-32 and length, which change
// whenever its content does. Reading decompresses on the fly (ranges skip forward), and every
// touch of the shared archive stream happens under one lock, so several loop threads may serve
// from one source.
using System.IO.Compression;

namespace Meerkat.Http.StaticFiles;

/// <summary>A <see cref="FileSource"/> over a zip archive.</summary>
internal sealed class ZipFileSource : FileSource
{
    private readonly ZipArchive archive;
    private readonly Lock gate = new();
    private readonly Dictionary<string, FileEntry> entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<FileEntry>> children = new(StringComparer.Ordinal);

    public ZipFileSource(Stream stream, string name)
    {
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException error)
        {
            stream.Dispose();
            throw new InvalidDataException($"{name} is not a zip archive: {error.Message}", error);
        }
        var times = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { [""] = DateTimeOffset.UnixEpoch };
        var explicitDirectories = new List<(string Path, DateTimeOffset Time)>();
        foreach (var entry in archive.Entries)
        {
            if (!IsSafeName(entry.FullName)) continue;
            string path = entry.FullName.TrimEnd('/');
            if (entry.FullName.EndsWith('/')) explicitDirectories.Add((path, entry.LastWriteTime));
            else if (!times.ContainsKey(path)) AddFile(new ZipEntry(this, entry, path), times);
        }
        foreach (var (path, time) in explicitDirectories)
            if (!entries.ContainsKey(path)) Touch(path, time, times);
        foreach (var (path, time) in times)
            if (!entries.ContainsKey(path)) entries[path] = new ZipDirectory(path, time);
        foreach (var (path, entry) in entries)
            if (path.Length > 0) Children(Parent(path)).Add(entry);
    }

    public override FileEntry? GetEntry(string path) => entries.GetValueOrDefault(path);

    public override IEnumerable<FileEntry> GetChildren(FileEntry directory) =>
        directory.IsDirectory && children.TryGetValue(directory.Path, out var list) ? list : [];

    private void AddFile(ZipEntry file, Dictionary<string, DateTimeOffset> times)
    {
        entries[file.Path] = file;
        Touch(Parent(file.Path), file.LastModified, times);
    }

    /// <summary>Marks <paramref name="directory"/> and its ancestors as directories, newest time kept.</summary>
    private void Touch(string directory, DateTimeOffset time, Dictionary<string, DateTimeOffset> times)
    {
        for (string path = directory; ; path = Parent(path))
        {
            if (entries.ContainsKey(path)) return; // a file of that name: the archive is odd; the file wins
            times[path] = times.TryGetValue(path, out var known) && known > time ? known : time;
            if (path.Length == 0) return;
        }
    }

    private List<FileEntry> Children(string path)
    {
        if (!children.TryGetValue(path, out var list)) children[path] = list = [];
        return list;
    }

    private static string Parent(string path) => path.LastIndexOf('/') is var slash and >= 0 ? path[..slash] : "";

    private static bool IsSafeName(string name)
    {
        if (name.Length == 0 || name[0] == '/' || name.AsSpan().IndexOfAny('\\', '\0') >= 0) return false;
        foreach (var segment in name.TrimEnd('/').Split('/'))
            if (segment is "" or "." or "..") return false;
        return true;
    }

    private sealed class ZipDirectory(string path, DateTimeOffset time) : FileEntry(path, true, 0, time)
    {
        public override Stream OpenRead() => throw new InvalidOperationException($"'{Path}' is a directory");
    }

    private sealed class ZipEntry(ZipFileSource source, ZipArchiveEntry entry, string path)
        : FileEntry(path, false, entry.Length, entry.LastWriteTime)
    {
        public override string GetEntityTag(string? contentCoding) =>
            contentCoding is null ? $"\"{entry.Crc32:x8}-{Length:x}\"" : $"\"{entry.Crc32:x8}-{Length:x}-{contentCoding}\"";

        public override Stream OpenRead()
        {
            lock (source.gate) return new LockedStream(entry.Open(), source.gate);
        }
    }

    /// <summary>An entry stream whose every call holds the archive's lock.</summary>
    private sealed class LockedStream(Stream inner, Lock gate) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            lock (gate) return inner.Read(buffer);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                lock (gate) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
