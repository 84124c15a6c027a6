namespace Meerkat.Bench.Harness;

/// <summary>Where the programs the whole-program benchmarks compare live.</summary>
internal static class Programs
{
    /// <summary>This benchmark executable with a hidden server subcommand (serve-meerkat, serve-kestrel).</summary>
    public static (string File, List<string> Arguments) Bench(string subcommand)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") arguments.Add(typeof(Programs).Assembly.Location);
        arguments.Add(subcommand);
        return (self, arguments);
    }

    /// <summary>The repository root (the folder holding Meerkat.slnx), searched upwards from here.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Meerkat.slnx"))) return dir.FullName;
        return null;
    }

    /// <summary>The native meerkat: --native PATH, else artifacts/native/meerkat (.ci/run) or the publish folder.</summary>
    public static string? NativeMeerkat(string given)
    {
        if (given.Length > 0) return File.Exists(given) ? given : null;
        if (RepositoryRoot() is not { } root) return null;
        foreach (var candidate in new[] { Path.Combine(root, "artifacts", "native", "meerkat"), Path.Combine(root, "src", "Meerkat.Cli", "bin", "Release", "net10.0", "linux-x64", "publish", "meerkat") })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    /// <summary>Meerkat.Cli.dll of a Release build (run with dotnet, on the JIT): --jit PATH, else src/Meerkat.Cli/bin/Release.</summary>
    public static string? JitMeerkat(string given)
    {
        if (given.Length > 0) return File.Exists(given) ? given : null;
        string? path = RepositoryRoot() is { } root ? Path.Combine(root, "src", "Meerkat.Cli", "bin", "Release", "net10.0", "Meerkat.Cli.dll") : null;
        return path is not null && File.Exists(path) ? path : null;
    }

    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    public static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " MiB";
}
