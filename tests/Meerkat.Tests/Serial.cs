namespace Meerkat.Tests;

/// <summary>Tests that measure the whole process (descriptors, memory, allocations) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Serial
{
    public const string Name = "serial";
}
