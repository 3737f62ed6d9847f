using System.Buffers.Binary;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: corrupt record batches, compressed with each of Kafka's codecs, raise only
/// <see cref="KafkaProtocolException"/> and allocate no more than the input and the registry's decompression
/// limit justify (issue 2 (e)). Method: a batch's CRC-32C covers everything after the CRC field, so a plain
/// mutation is rejected by the CRC check before the decompressor ever sees it; these campaigns recompute
/// BatchLength and the CRC after most mutations so the corrupted bytes reach the codec and the record parser.
/// Seeds are batches we build (several records, null key, headers) and the batches librdkafka compressed in the
/// golden produce frames, which carry each codec's real framing (xerial snappy, lz4 frame, gzip and zstd).
/// </summary>
public sealed class RecordBatchFuzzTests
{
    private const int RandomMutations = 3000;

    /// <summary>Codecs by name, for theory rows.</summary>
    public static TheoryData<CompressionType> Codecs { get; } =
        new(CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd);

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Mutated_batches_with_recomputed_crc_raise_only_KafkaProtocolException_within_the_bound(CompressionType codec)
    {
        var seeds = new List<byte[]> { BuildBatch(codec, records: 5), GoldenBatch(codec) };
        foreach (var fuzzSeed in FuzzSeeds.All)
        {
            var harness = new FuzzHarness($"RecordBatch {codec}", fuzzSeed);
            var rng = FuzzSeeds.For(fuzzSeed, $"RecordBatch {codec}");
            var mutator = new Mutator(rng);
            var pastCrc = 0;
            foreach (var batch in seeds)
            {
                FuzzTargets.RecordBatches.Fuzz(batch);
                harness.Run(FuzzTargets.RecordBatches.Fuzz, batch, "seed", mayDecompress: true);
                for (var i = 0; i < RandomMutations; i++)
                {
                    var input = mutator.Mutate(batch, out var description);
                    if (rng.Next(8) != 0 && FixLengthAndCrc(input))
                    {
                        description += " (length and CRC fixed)";
                    }

                    if (PassesCrc(input))
                    {
                        pastCrc++;
                    }

                    harness.Run(FuzzTargets.RecordBatches.Fuzz, input, description, mayDecompress: true);
                }
            }

            harness.AssertClean();

            // Most mutations must get past the CRC, or the codec and record parser were never exercised.
            Assert.True(pastCrc > RandomMutations, $"Only {pastCrc} of {2 * RandomMutations} mutated batches passed the CRC.");
        }
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Decompression_bomb_is_stopped_at_the_registry_limit_with_bounded_allocation(CompressionType codec)
    {
        // 4 MiB of zeros in one record value compresses to a few KiB with every codec: a 64x larger output than
        // the fuzzing registry allows.
        const int valueSize = 4 * 1024 * 1024;
        var registry = KafkaCompression.CreateRegistry();
        byte[] bomb;
        using (var builder = new RecordBatchBuilder(codec, registry))
        {
            builder.Append(1, null, new byte[valueSize]);
            bomb = builder.ToArray();
        }

        // Under the default 64 MiB limit the batch is honest and decodes.
        var honest = RecordBatch.Read(bomb, registry);
        Assert.Equal(valueSize, Assert.Single(honest.Records).Value!.Length);

        // Under the fuzzing limit it is rejected, after allocating no more than one batch's allowance.
        FuzzTargetsWarmUp();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<KafkaProtocolException>(() => FuzzTargets.RecordBatches.Fuzz(bomb));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
        var bound = FuzzHarness.FixedAllowanceBytes + (FuzzHarness.BytesPerInputByte * bomb.Length) +
            FuzzHarness.DecompressionAllowanceBytes;
        Assert.True(allocated <= bound, $"{codec} bomb of {bomb.Length} byte(s) allocated {allocated}, bound {bound}.");
    }

    /// <summary>Rewrites BatchLength and the CRC of a batch at the start of <paramref name="input"/>.</summary>
    internal static bool FixLengthAndCrc(byte[] input)
    {
        if (input.Length < RecordBatchHeader.Size)
        {
            return false;
        }

        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(8), input.Length - RecordBatchHeader.LogOverhead);
        BinaryPrimitives.WriteUInt32BigEndian(
            input.AsSpan(RecordBatchHeader.CrcOffset),
            Crc32C.Compute(input.AsSpan(RecordBatchHeader.AttributesOffset)));
        return true;
    }

    private static bool PassesCrc(byte[] input)
    {
        try
        {
            RecordBatchReader.Validate(input);
            return true;
        }
        catch (KafkaProtocolException)
        {
            return false;
        }
    }

    /// <summary>A batch of <paramref name="records"/> records with keys (one null), values and headers.</summary>
    internal static byte[] BuildBatch(CompressionType codec, int records)
    {
        using var builder = new RecordBatchBuilder(codec, FuzzTargets.Codecs)
        {
            ProducerId = 42,
            ProducerEpoch = 1,
            BaseSequence = 0,
        };
        for (var i = 0; i < records; i++)
        {
            builder.Append(
                1_700_000_000_000 + i,
                i == 1 ? null : [(byte)i, 1, 2],
                i == 2 ? null : System.Text.Encoding.UTF8.GetBytes($"value-{i}-lockstep-lockstep-lockstep"),
                new RecordHeader("trace", [(byte)i]),
                new RecordHeader("empty", null));
        }

        return builder.ToArray();
    }

    /// <summary>The batch librdkafka sent in the golden produce frame for <paramref name="codec"/>.</summary>
    internal static byte[] GoldenBatch(CompressionType codec)
    {
        var name = $"Produce_Request_v10_librdkafka_{codec.ToString().ToLowerInvariant()}.bin";
        var frame = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "librdkafka", name));
        var produce = (ProduceRequest)FuzzTargets.RequestFrame.Decode(frame).Body;
        var records = produce.TopicData.Single().PartitionData.Single().Records!.Value;
        Assert.Equal(codec, RecordBatchHeader.Read(records.Span).Compression);
        return records.ToArray();
    }

    private static void FuzzTargetsWarmUp()
    {
        // First use of the codecs on this thread allocates their contexts and pool buckets once; that is not
        // per-input cost, so it stays out of the measurement.
        foreach (var row in Codecs)
        {
            FuzzTargets.RecordBatches.Fuzz(BuildBatch(row.Data, records: 2));
        }
    }
}
