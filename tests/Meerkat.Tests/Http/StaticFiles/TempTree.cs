namespace Meerkat.Tests.Http.StaticFiles;

/// A temporary directory tree for file-system tests: root/ holds the served files and a sibling
/// outside/ holds files that must never be reachable.
internal sealed class TempTree : IDisposable
{
    public TempTree()
    {
        Base = Path.Combine(Path.GetTempPath(), "meerkat-static-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(Base, "root");
        Outside = Path.Combine(Base, "outside");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
    }

    public string Base { get; }
    public string Root { get; }
    public string Outside { get; }

    public string File(string relative, string content, DateTime? lastWriteUtc = null)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        System.IO.File.SetLastWriteTimeUtc(path, lastWriteUtc ?? new DateTime(2024, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc));
        return path;
    }

    public string Dir(string relative)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Base, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
