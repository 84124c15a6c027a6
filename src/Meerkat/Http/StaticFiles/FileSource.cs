// How this file works
// -------------------
// Where static files come from, abstracted so that a directory, a zip archive and resources
// embedded in an assembly all go through the same planner (safe paths, validators, ranges,
// precompressed variants, listings) and the same sender. A source answers two questions:
//   GetEntry(path)        the file or directory at a relative path, or null;
//   GetChildren(dir)      what a directory holds (for listings).
// Paths are relative, "/"-separated, already percent-decoded and vetted by RequestPath (no "..",
// no empty or dot segments): "" is the root, "css/site.css" a file. An entry knows its length,
// its last-modified time and its entity tag, and opens a stream of its bytes.
using System.Reflection;

namespace Meerkat.Http.StaticFiles;

/// <summary>A tree of files to serve: <see cref="FromDirectory"/>, <see cref="FromZip(string)"/>,
/// <see cref="FromEmbeddedResources"/>, or your own subclass. Must be safe to call from several loop threads.</summary>
public abstract class FileSource
{
    /// <summary>The file or directory at <paramref name="path"/> ("" for the root, else segments joined by "/"), or null.</summary>
    public abstract FileEntry? GetEntry(string path);

    /// <summary>The entries directly inside <paramref name="directory"/>, for listings.</summary>
    public abstract IEnumerable<FileEntry> GetChildren(FileEntry directory);

    /// <summary>Files under a directory of the file system; symbolic links are followed only while they stay inside its real path.</summary>
    public static FileSource FromDirectory(string root) => new DirectoryFileSource(root);

    /// <summary>The entries of a zip archive (opened now, read as requests come; the file stays open until disposed with the process).</summary>
    /// <exception cref="InvalidDataException">The file is not a zip archive.</exception>
    public static FileSource FromZip(string path) => new ZipFileSource(File.OpenRead(path), path);

    /// <summary>The entries of a zip archive held in a seekable stream (the source owns it).</summary>
    /// <exception cref="InvalidDataException">The stream is not a zip archive.</exception>
    public static FileSource FromZip(Stream archive) => new ZipFileSource(archive, "zip stream");

    /// <summary>The resources of <paramref name="assembly"/> whose names start with <paramref name="prefix"/>; the rest
    /// of each name is its path. Embed files with their paths as names, e.g.
    /// <c>&lt;EmbeddedResource Include="wwwroot/**" LogicalName="wwwroot/%(RecursiveDir)%(Filename)%(Extension)" /&gt;</c>
    /// and pass <c>"wwwroot/"</c>.</summary>
    public static FileSource FromEmbeddedResources(Assembly assembly, string prefix) => new EmbeddedFileSource(assembly, prefix);
}

/// <summary>A file or directory of a <see cref="FileSource"/>.</summary>
public abstract class FileEntry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="path">Its relative path ("" for the root).</param>
    /// <param name="isDirectory">True for a directory.</param>
    /// <param name="length">Its size in bytes (0 for directories).</param>
    /// <param name="lastModified">When it last changed.</param>
    protected FileEntry(string path, bool isDirectory, long length, DateTimeOffset lastModified)
    {
        ArgumentNullException.ThrowIfNull(path);
        Path = path;
        IsDirectory = isDirectory;
        Length = length;
        LastModified = lastModified;
    }

    /// <summary>The relative path, segments joined by "/"; "" for the root.</summary>
    public string Path { get; }

    /// <summary>The last segment of <see cref="Path"/>.</summary>
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>True for a directory.</summary>
    public bool IsDirectory { get; }

    /// <summary>Size in bytes.</summary>
    public long Length { get; }

    /// <summary>When it last changed (Last-Modified, If-Modified-Since).</summary>
    public DateTimeOffset LastModified { get; }

    /// <summary>A strong entity tag for this entry served with <paramref name="contentCoding"/> (null for identity);
    /// by default from its length and last-modified time. Variants never share a tag (RFC 9110 §8.8.3.3).</summary>
    public virtual string GetEntityTag(string? contentCoding) => EntityTag.Create(Length, LastModified, contentCoding);

    /// <summary>Opens the entry's bytes, positioned at the start; the caller disposes the stream.</summary>
    public abstract Stream OpenRead();

    /// <summary>Opens a reader for the sender; sources with random access override it.</summary>
    internal virtual FileBodyReader OpenReader(long offset) => new StreamBodyReader(OpenRead(), offset);
}

/// <summary>Reads a response body slice for the sender; disposed when the response ends or the connection closes.</summary>
internal abstract class FileBodyReader : IDisposable
{
    /// <summary>Reads the next bytes into <paramref name="destination"/>; 0 only at the end of the entry.</summary>
    public abstract int Read(Span<byte> destination);

    public abstract void Dispose();
}

/// <summary>A body read from a stream, skipping to the offset when it cannot seek.</summary>
internal sealed class StreamBodyReader : FileBodyReader
{
    private readonly Stream stream;

    public StreamBodyReader(Stream stream, long offset)
    {
        this.stream = stream;
        if (offset == 0) return;
        if (stream.CanSeek)
        {
            stream.Seek(offset, SeekOrigin.Begin);
            return;
        }
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            for (long left = offset; left > 0;)
            {
                int n = stream.Read(scratch, 0, (int)Math.Min(scratch.Length, left));
                if (n == 0) throw new IOException("the entry ended before the requested range");
                left -= n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public override int Read(Span<byte> destination) => stream.Read(destination);

    public override void Dispose() => stream.Dispose();
}
