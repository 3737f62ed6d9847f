using System.Globalization;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Seeds of the mutation loops: one fixed seed, so every run checks the same inputs, plus one taken from
/// <c>LOCKSTEP_FUZZ_SEED</c> when it is set, so a CI job or a developer can explore further. Failures print the seed.
/// </summary>
internal static class FuzzSeeds
{
    /// <summary>The fixed seed ("Lock" in ASCII).</summary>
    public const int Fixed = 0x4C6F636B;

    /// <summary>Environment variable that adds one more seed (decimal or 0x-prefixed hex).</summary>
    public const string EnvironmentVariable = "LOCKSTEP_FUZZ_SEED";

    /// <summary>The fixed seed, then the environment's seed if it is set and differs.</summary>
    public static IReadOnlyList<int> All { get; } = Load();

    private static int[] Load()
    {
        var text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [Fixed];
        }

        text = text.Trim();
        var seed = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
        return seed == Fixed ? [Fixed] : [Fixed, seed];
    }

    /// <summary>
    /// A generator for one test case: the seed mixed with a stable hash of <paramref name="caseName"/>, so each case
    /// explores different mutations yet reproduces from the printed seed alone.
    /// </summary>
    public static Random For(int seed, string caseName)
    {
        // string.GetHashCode is randomised per process; FNV-1a is stable across runs.
        var hash = 2166136261u;
        foreach (var c in caseName)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return new Random(seed ^ (int)hash);
    }
}
