// The long fuzzing run: `dotnet run --project tools/Meerkat.Fuzz -c Release -- --target server
// --iterations 3000000 --seed 1`. Each target lives in its own file and implements IFuzzTarget;
// the test suite runs the same targets for a few seconds (tests/Meerkat.Tests/Http/Server/FuzzTests.cs).
namespace Meerkat.Fuzz;

public static class Program
{
    private static readonly Dictionary<string, Func<FuzzCorpus, IFuzzTarget>> Targets = new()
    {
        ["server"] = corpus => new ServerTarget(corpus),
        ["client"] = corpus => new ClientTarget(corpus),
    };

    public static int Main(string[] args)
    {
        string target = "server";
        long iterations = 100_000, seed = Environment.TickCount64;
        string? corpusPath = null;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--target": target = value; i++; break;
                case "--iterations": iterations = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); i++; break;
                case "--seed": seed = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); i++; break;
                case "--corpus": corpusPath = value; i++; break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'. Usage: meerkat-fuzz --target {string.Join('|', Targets.Keys)} --iterations N --seed S [--corpus http1-parser-cases.json]");
                    return 2;
            }
        }
        if (!Targets.TryGetValue(target, out var make))
        {
            Console.Error.WriteLine($"unknown target '{target}'; known: {string.Join(", ", Targets.Keys)}");
            return 2;
        }
        var corpus = FuzzCorpus.Load(corpusPath);
        Console.Error.WriteLine(corpus.Path is null
            ? $"seeds: {corpus.Requests.Count} built-in requests (no {FuzzCorpus.FileName} found; pass --corpus PATH)"
            : $"seeds: {corpus.Requests.Count} requests, {corpus.Responses.Count} responses from {corpus.Path}");
        var result = FuzzRunner.Run(make(corpus), iterations, seed, Console.Error);
        Console.WriteLine(result);
        return result.Failures == 0 ? 0 : 1;
    }
}
