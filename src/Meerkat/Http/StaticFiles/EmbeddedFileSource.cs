// How this file works
// -------------------
// Resources compiled into an assembly, served as files: a resource named prefix + "css/site.css"
// is the file "css/site.css" (names are taken as paths, "\" read as "/", so embed with
// LogicalName="prefix/%(RecursiveDir)%(Filename)%(Extension)"); directories are implied by the
// names. The content cannot change while the program runs, so each file's entity tag is a hash
// of its bytes (computed once, on first use), and its Last-Modified is the assembly file's write
// time (or, for a single-file or AOT program without one, the time the source was created).
// Resource streams are seekable memory: ranges cost nothing.
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Security.Cryptography;

namespace Meerkat.Http.StaticFiles;

/// <summary>A <see cref="FileSource"/> over an assembly's manifest resources.</summary>
internal sealed class EmbeddedFileSource : FileSource
{
    private readonly Dictionary<string, FileEntry> entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<FileEntry>> children = new(StringComparer.Ordinal);

    public EmbeddedFileSource(Assembly assembly, string prefix)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(prefix);
        var modified = BuildTime(assembly);
        var directories = new HashSet<string>(StringComparer.Ordinal) { "" };
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            string name = resource.Replace('\\', '/');
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string path = name[prefix.Length..].TrimStart('/');
            if (path.Length == 0 || path.Split('/').Any(s => s is "" or "." or "..")) continue;
            using var stream = assembly.GetManifestResourceStream(resource);
            if (stream is null) continue;
            entries[path] = new ResourceEntry(assembly, resource, path, stream.Length, modified);
            for (string parent = Parent(path); directories.Add(parent) && parent.Length > 0; parent = Parent(parent)) { }
        }
        foreach (var directory in directories)
            if (!entries.ContainsKey(directory)) entries[directory] = new ResourceDirectory(directory, modified);
        foreach (var (path, entry) in entries)
        {
            if (path.Length == 0) continue;
            if (!children.TryGetValue(Parent(path), out var list)) children[Parent(path)] = list = [];
            list.Add(entry);
        }
    }

    public override FileEntry? GetEntry(string path) => entries.GetValueOrDefault(path);

    public override IEnumerable<FileEntry> GetChildren(FileEntry directory) =>
        directory.IsDirectory && children.TryGetValue(directory.Path, out var list) ? list : [];

    private static string Parent(string path) => path.LastIndexOf('/') is var slash and >= 0 ? path[..slash] : "";

    // Location is empty in single-file and Native AOT programs (handled: the start time is used then).
    // A #pragma silences only the compiler; the AOT compiler needs the attribute.
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty Location falls back to the start time.")]
    private static DateTimeOffset BuildTime(Assembly assembly)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        // Whole seconds: HTTP dates carry no more, and If-Modified-Since compares at that resolution.
        now = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        string location = assembly.Location;
        return location.Length > 0 && File.Exists(location) ? new DateTimeOffset(File.GetLastWriteTimeUtc(location), TimeSpan.Zero) : now;
    }

    private sealed class ResourceDirectory(string path, DateTimeOffset modified) : FileEntry(path, true, 0, modified)
    {
        public override Stream OpenRead() => throw new InvalidOperationException($"'{Path}' is a directory");
    }

    private sealed class ResourceEntry(Assembly assembly, string resource, string path, long length, DateTimeOffset modified)
        : FileEntry(path, false, length, modified)
    {
        private static readonly ConcurrentDictionary<(Assembly, string), string> Hashes = new();

        public override string GetEntityTag(string? contentCoding)
        {
            string hash = Hashes.GetOrAdd((assembly, resource), key =>
            {
                using var stream = key.Item1.GetManifestResourceStream(key.Item2)!;
                return Convert.ToHexStringLower(SHA256.HashData(stream), 0, 12);
            });
            return contentCoding is null ? $"\"{hash}\"" : $"\"{hash}-{contentCoding}\"";
        }

        public override Stream OpenRead() =>
            assembly.GetManifestResourceStream(resource) ?? throw new FileNotFoundException($"resource '{resource}' vanished");
    }
}
