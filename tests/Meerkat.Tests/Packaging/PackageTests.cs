using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace Meerkat.Tests.Packaging;

/// <summary>The NuGet packages .ci/run packs: their files, their metadata, and the tool installed from them.</summary>
public sealed class PackageTests
{
    private static readonly string Version = typeof(Manager).Assembly.GetName().Version!.ToString(3);

    private static ZipArchive Open(string id, string extension = "nupkg") =>
        ZipFile.OpenRead(Path.Combine(Artifacts.PackageDirectory, $"{id}.{Version}.{extension}"));

    private static XElement Metadata(ZipArchive package, string id)
    {
        using var stream = package.GetEntry($"{id}.nuspec")!.Open();
        var nuspec = XDocument.Load(stream).Root!;
        return nuspec.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Value(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    private static XElement? Element(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name);

    [Theory]
    [InlineData("Meerkat")]
    [InlineData("Meerkat.Cli")]
    [InlineData("Meerkat.Extensions.Hosting")]
    [InlineData("Meerkat.Testing")]
    public void Each_package_says_what_it_is_and_under_which_licence(string id)
    {
        using var package = Open(id);
        var metadata = Metadata(package, id);
        Assert.Equal(id, Value(metadata, "id"));
        Assert.Equal("MIT", Value(metadata, "license"));
        Assert.Equal("expression", Element(metadata, "license")!.Attribute("type")!.Value);
        Assert.Equal("README.md", Value(metadata, "readme"));
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "description")));
        Assert.Contains("http", Value(metadata, "tags")!.Split(' '));
        // The commit the package was built from; a URL only where the repository has a remote (docs/packaging.md).
        var repository = Element(metadata, "repository");
        Assert.NotNull(repository);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);
        Assert.DoesNotContain("projectUrl", metadata.Elements().Select(e => e.Name.LocalName));
        var names = package.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("README.md", names);
        Assert.Contains("LICENSE", names);
        using var readme = new StreamReader(package.GetEntry("README.md")!.Open());
        Assert.Contains("dotnet add package Meerkat", readme.ReadToEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_library_package_holds_a_deterministic_assembly_its_docs_and_its_symbols()
    {
        using var package = Open("Meerkat");
        Assert.Equal(["lib/net10.0/Meerkat.dll", "lib/net10.0/Meerkat.xml"],
            package.Entries.Select(e => e.FullName).Where(n => n.StartsWith("lib/", StringComparison.Ordinal)).Order());
        Assert.DoesNotContain(Metadata(package, "Meerkat").Descendants(), e => e.Name.LocalName == "dependency");
        using (var dll = new MemoryStream())
        {
            using (var entry = package.GetEntry("lib/net10.0/Meerkat.dll")!.Open()) entry.CopyTo(dll);
            dll.Position = 0;
            using var pe = new PEReader(dll);
            Assert.Contains(pe.ReadDebugDirectory(), d => d.Type == DebugDirectoryEntryType.Reproducible);
        }
        using var symbols = Open("Meerkat", "snupkg");
        Assert.Contains("lib/net10.0/Meerkat.pdb", symbols.Entries.Select(e => e.FullName));
    }

    [Theory]
    [InlineData("Meerkat.Extensions.Hosting", "Microsoft.Extensions.")]
    [InlineData("Meerkat.Testing", null)]
    public void Each_extension_package_depends_on_this_meerkat_and_nothing_unexpected(string id, string? allowedPrefix)
    {
        using var package = Open(id);
        Assert.Equal([$"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml"],
            package.Entries.Select(e => e.FullName).Where(n => n.StartsWith("lib/", StringComparison.Ordinal)).Order());
        var dependencies = Metadata(package, id).Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
        Assert.Equal(Version, dependencies["Meerkat"]);
        Assert.All(dependencies.Keys.Where(d => d != "Meerkat"),
            d => Assert.True(allowedPrefix is not null && d.StartsWith(allowedPrefix, StringComparison.Ordinal), $"{id} depends on {d}"));
        using var symbols = Open(id, "snupkg");
        Assert.Contains($"lib/net10.0/{id}.pdb", symbols.Entries.Select(e => e.FullName));
    }

    [Fact]
    public void The_cli_package_is_a_dotnet_tool_called_meerkat()
    {
        using var package = Open("Meerkat.Cli");
        var types = Metadata(package, "Meerkat.Cli").Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => e.Attribute("name")!.Value);
        Assert.Equal(["DotnetTool"], types);
        using var settings = package.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open();
        var command = XDocument.Load(settings).Descendants("Command").Single();
        Assert.Equal("meerkat", command.Attribute("Name")!.Value);
        Assert.Equal("Meerkat.Cli.dll", command.Attribute("EntryPoint")!.Value);
        var names = package.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("tools/net10.0/any/Meerkat.dll", names);
        Assert.Contains("tools/net10.0/any/System.CommandLine.dll", names);
    }

    [Fact]
    public async Task The_tool_installs_from_the_local_folder_and_runs()
    {
        string feed = Artifacts.PackageDirectory;
        string toolPath = Directory.CreateTempSubdirectory("meerkat-tool-").FullName;
        try
        {
            string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            var install = await RunAsync(dotnet, ["tool", "install", "Meerkat.Cli", "--tool-path", toolPath, "--add-source", feed, "--version", Version]);
            Assert.True(install.ExitCode == 0, install.Output);
            var version = await RunAsync(Path.Combine(toolPath, "meerkat"), ["--version"]);
            Assert.Equal((0, $"meerkat {Version}\n"), version);
        }
        finally
        {
            Directory.Delete(toolPath, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        return (process.ExitCode, await output + await errors);
    }
}
