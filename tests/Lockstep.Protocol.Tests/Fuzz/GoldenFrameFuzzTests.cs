namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: the request path survives corruption of frames a real client sent, not only of frames we encoded
/// ourselves (issue 2 (d)). Method: every librdkafka golden frame in Golden/librdkafka/ (ApiVersions v3,
/// Metadata v13, InitProducerId v4, Produce v10 with each codec) is a seed for a bounded
/// <see cref="MutationCampaign"/> through <see cref="FuzzTargets.RequestFrame"/>, which also reads the produce
/// record batches with every codec.
/// </summary>
public sealed class GoldenFrameFuzzTests
{
    private const int RandomMutations = 5000;

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "librdkafka");

    /// <summary>File names of the golden frames copied next to the test assembly.</summary>
    public static TheoryData<string> FrameNames { get; } = new(
        Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, "*.bin").Select(Path.GetFileName).Order(StringComparer.Ordinal).Cast<string>()
            : []);

    [Fact]
    public void Golden_frames_are_present_as_seeds()
    {
        // Four APIs, five produce codecs; fewer means the copy to the output folder broke and (d) tests nothing.
        Assert.True(FrameNames.Count >= 8, $"Only {FrameNames.Count} golden frame(s) in {Folder}.");
    }

    [Theory]
    [MemberData(nameof(FrameNames))]
    public void Mutated_librdkafka_frames_raise_only_KafkaProtocolException_within_the_allocation_bound(string name)
    {
        var frame = File.ReadAllBytes(Path.Combine(Folder, name));
        foreach (var seed in FuzzSeeds.All)
        {
            var harness = new FuzzHarness(name, seed);
            var rng = FuzzSeeds.For(seed, name);
            MutationCampaign.Run(harness, FuzzTargets.RequestFrame.Fuzz, frame, 0, mayDecompress: true, rng, RandomMutations);
            harness.AssertClean();
        }
    }
}
