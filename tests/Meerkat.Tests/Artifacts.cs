namespace Meerkat.Tests;

/// <summary>
/// What .ci/run builds before the tests: the NuGet packages (<c>MEERKAT_PACKAGES</c>, a folder) and
/// the native <c>meerkat</c> binary (<c>MEERKAT_NATIVE</c>, a file). A test that needs one skips on a
/// developer's machine when it is not given, and fails under CI (CI=true).
/// </summary>
internal static class Artifacts
{
    public static string PackageDirectory => Require("MEERKAT_PACKAGES", Directory.Exists, "dotnet pack Meerkat.slnx -c Release -o DIR");

    public static string NativeBinary => Require("MEERKAT_NATIVE", File.Exists, "dotnet publish src/Meerkat.Cli -c Release -r linux-x64");

    private static string Require(string variable, Func<string, bool> exists, string howToMake)
    {
        string? path = Environment.GetEnvironmentVariable(variable);
        if (path is not null && exists(path)) return path;
        string why = path is null ? $"{variable} is not set" : $"{variable}={path} does not exist";
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail($"{why}: .ci/run makes it ({howToMake})");
        Assert.Skip($"{why} (make it with {howToMake})");
        return null!;
    }
}
