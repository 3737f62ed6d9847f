using System.Reflection;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: every fuzz target in <see cref="FuzzTargets"/> runs at least on an empty and on random input, so a new
/// target cannot be added without being exercised (style-guide.md §3.6 "Meta-test: every target has a smoke
/// test"). Method: the smoke theories run over <see cref="Targets"/>, and a meta-test compares that table with
/// the targets found by reflection.
/// </summary>
public sealed class FuzzTargetSmokeTests
{
    private const int RandomInputs = 2000;

    /// <summary>The smoke-tested targets, by the name of their class inside <see cref="FuzzTargets"/>.</summary>
    private static readonly Dictionary<string, FuzzTarget> Targets = new(StringComparer.Ordinal)
    {
        [nameof(FuzzTargets.RequestFrame)] = FuzzTargets.RequestFrame.Fuzz,
        [nameof(FuzzTargets.ResponseFrame)] = FuzzTargets.ResponseFrame.Fuzz,
        [nameof(FuzzTargets.RecordBatches)] = FuzzTargets.RecordBatches.Fuzz,
        [nameof(FuzzTargets.VarInts)] = FuzzTargets.VarInts.Fuzz,
        [nameof(FuzzTargets.LengthPrefixed)] = FuzzTargets.LengthPrefixed.Fuzz,
    };

    /// <summary>Names of <see cref="Targets"/>, as theory rows.</summary>
    public static TheoryData<string> TargetNames { get; } = new(Targets.Keys.Order(StringComparer.Ordinal));

    [Fact]
    public void Every_fuzz_target_has_smoke_tests()
    {
        var found = typeof(FuzzTargets)
            .GetNestedTypes(BindingFlags.Public)
            .Where(t => t.GetMethod("Fuzz", BindingFlags.Public | BindingFlags.Static, [typeof(ReadOnlySpan<byte>)]) is { ReturnType: var r } && r == typeof(void))
            .Select(t => t.Name)
            .Order(StringComparer.Ordinal);
        Assert.Equal(found, Targets.Keys.Order(StringComparer.Ordinal));

        // A nested public class without the Fuzz shape is a target with a typo, not a helper.
        Assert.All(typeof(FuzzTargets).GetNestedTypes(BindingFlags.Public), t => Assert.Contains(t.Name, Targets.Keys));
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Target_handles_empty_input(string name)
    {
        var target = Targets[name];
        var harness = new FuzzHarness($"{name} empty", FuzzSeeds.Fixed);
        harness.Run(target, [], "empty");
        harness.AssertClean();

        // The primitive op streams accept an empty stream and a RECORDS field may hold no batch at all; a frame
        // needs at least its size prefix.
        if (name is nameof(FuzzTargets.VarInts) or nameof(FuzzTargets.LengthPrefixed) or nameof(FuzzTargets.RecordBatches))
        {
            Assert.Equal(1, harness.Successes);
        }
        else
        {
            Assert.Throws<KafkaProtocolException>(() => target([]));
        }
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Target_survives_random_input(string name)
    {
        var target = Targets[name];
        foreach (var seed in FuzzSeeds.All)
        {
            var rng = FuzzSeeds.For(seed, name);
            var harness = new FuzzHarness($"{name} random", seed);
            for (var i = 0; i < RandomInputs; i++)
            {
                var input = new byte[rng.Next(0, 600)];
                rng.NextBytes(input);
                if (i % 2 == 0)
                {
                    // Half the inputs get a consistent frame or batch length so they get past the first check.
                    FixFirstLength(name, input);
                }

                harness.Run(target, input, $"random #{i}", mayDecompress: name is nameof(FuzzTargets.RequestFrame) or nameof(FuzzTargets.RecordBatches));
            }

            harness.AssertClean();
        }
    }

    private static void FixFirstLength(string name, byte[] input)
    {
        switch (name)
        {
            case nameof(FuzzTargets.RequestFrame):
                if (input.Length >= 8)
                {
                    // A known API key and a low version, so that the header and body decoders are reached.
                    input[4] = 0;
                    input[5] = (byte)(input[5] % 80);
                    input[6] = 0;
                    input[7] = (byte)(input[7] % 4);
                }

                Mutator.FixSizePrefix(input);
                break;
            case nameof(FuzzTargets.ResponseFrame):
                if (input.Length >= 4)
                {
                    input[0] = 0;
                    input[1] = (byte)(input[1] % 80);
                    input[2] = 0;
                    input[3] = (byte)(input[3] % 4);
                }

                Mutator.FixSizePrefix(input, FuzzTargets.ResponseFrame.PrefixSize);
                break;
            case nameof(FuzzTargets.RecordBatches):
                if (input.Length > 16)
                {
                    input[16] = 2;
                }

                RecordBatchFuzzTests.FixLengthAndCrc(input);
                break;
        }
    }
}
