namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// One bounded mutation campaign over one valid seed input: the seed itself (which must decode), truncation at
/// every offset, a hostile length or count written at every offset, then <c>randomMutations</c> seeded random
/// mutations. Every loop is bounded by the seed length and the iteration count, so a campaign always ends.
/// </summary>
/// <remarks>
/// Frames carry an INT32 size prefix that a decoder checks first; a mutation that leaves it stale would be
/// rejected before reaching the body, so the prefix is recomputed after most mutations (7 in 8) and left stale
/// in the rest to exercise the check itself.
/// </remarks>
internal static class MutationCampaign
{
    /// <summary>Seeds up to this length get every-offset truncation and hostile-length sweeps; longer seeds get
    /// the same number of sampled offsets, keeping a campaign's cost bounded.</summary>
    public const int SweepLimit = 256;

    /// <summary>Runs the campaign; violations accumulate in <paramref name="harness"/>.</summary>
    /// <param name="harness">Collects violations.</param>
    /// <param name="target">The decoder under test.</param>
    /// <param name="seed">A valid input.</param>
    /// <param name="sizePrefixOffset">Offset of the frame's INT32 size prefix, or -1 when there is none.</param>
    /// <param name="mayDecompress">True when the target may decompress record batches.</param>
    /// <param name="rng">Seeded generator of this case.</param>
    /// <param name="randomMutations">Number of random mutations.</param>
    public static void Run(
        FuzzHarness harness,
        FuzzTarget target,
        byte[] seed,
        int sizePrefixOffset,
        bool mayDecompress,
        Random rng,
        int randomMutations)
    {
        // The seed must decode: otherwise the campaign would only ever test the first rejection. This also warms
        // up lazily initialised state (JIT, statics, pools) before anything is measured.
        try
        {
            target(seed);
        }
        catch (KafkaProtocolException ex)
        {
            Assert.Fail($"The valid seed does not decode ({ex.Message}): {Convert.ToHexString(seed)}");
        }

        harness.Run(target, seed, "seed", mayDecompress);

        var protectedPrefix = sizePrefixOffset < 0 ? 0 : sizePrefixOffset + 4;
        foreach (var at in Offsets(seed.Length, 0, rng))
        {
            // A cut inside the size prefix leaves nothing to fix: the frame is simply short.
            var truncated = seed[..at];
            if (sizePrefixOffset >= 0 && at >= protectedPrefix)
            {
                Mutator.FixSizePrefix(truncated, sizePrefixOffset);
            }

            harness.Run(target, truncated, $"truncate @{at}", mayDecompress);
        }

        foreach (var at in Offsets(seed.Length, protectedPrefix, rng))
        {
            var pattern = Mutator.HostileLengths[rng.Next(Mutator.HostileLengths.Length)];
            var input = (byte[])seed.Clone();
            pattern.AsSpan(0, Math.Min(pattern.Length, input.Length - at)).CopyTo(input.AsSpan(at));
            harness.Run(target, input, $"length {Convert.ToHexString(pattern)} @{at}", mayDecompress);
        }

        var mutator = new Mutator(rng);
        for (var i = 0; i < randomMutations; i++)
        {
            var input = mutator.Mutate(seed, out var description);
            if (sizePrefixOffset >= 0 && rng.Next(8) != 0)
            {
                Mutator.FixSizePrefix(input, sizePrefixOffset);
                description += " (size fixed)";
            }

            harness.Run(target, input, description, mayDecompress);
        }
    }

    private static IEnumerable<int> Offsets(int length, int from, Random rng)
    {
        if (length - from <= SweepLimit)
        {
            for (var at = from; at < length; at++)
            {
                yield return at;
            }

            yield break;
        }

        for (var i = 0; i < SweepLimit; i++)
        {
            yield return rng.Next(from, length);
        }
    }
}
