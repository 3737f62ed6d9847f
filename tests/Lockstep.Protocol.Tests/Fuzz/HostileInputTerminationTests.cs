using System.Buffers.Binary;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: the worst counts and varints an attacker can send end in a <see cref="KafkaProtocolException"/> (or a
/// decode) after work proportional to the input, never a hang or a huge allocation (issue 2 (c)). Method: bodies
/// made entirely of one hostile pattern (INT32 2^31-1, UNSIGNED_VARINT 2^31-1, runs of 0xFF or of 0x80
/// continuation bytes) are fed to every message decoder at every version, and long but legal runs of varints and
/// empty compact values to the primitive targets. Nothing here measures time: every loop is bounded by
/// construction (fixed pattern lengths, one decode per case), and each decoder step consumes input, so a hang
/// would show up as the test run never finishing.
/// </summary>
public sealed class HostileInputTerminationTests
{
    private const int BodyLength = 4096;

    private static readonly (string Name, byte[] Unit)[] Patterns =
    [
        ("int32 2^31-1", [0x7F, 0xFF, 0xFF, 0xFF]),
        ("uvarint 2^31-1", [0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
        ("uvarint 2^31-1 then 1", [0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x01]),
        ("int32 -2", [0xFF, 0xFF, 0xFF, 0xFE]),
        ("0xFF run", [0xFF]),
        ("0x80 continuation run", [0x80]),
        ("0x01 (count 0 / length 0) run", [0x01]),
    ];

    [Fact]
    public void Every_decoder_rejects_bodies_of_hostile_counts_within_the_allocation_bound()
    {
        var harness = new FuzzHarness("hostile bodies", FuzzSeeds.Fixed);
        foreach (var type in MessageSamples.AllTypes)
        {
            var (lowest, highest) = MessageSamples.Versions(type);
            for (var version = lowest; version <= highest; version++)
            {
                var v = version;
                FuzzTarget target = input => MessageDecoders.DecodeExact(type, input, v);
                foreach (var (name, unit) in Patterns)
                {
                    harness.Run(target, Repeat(unit, BodyLength), $"{type.Name} v{v} body of {name}");
                }
            }
        }

        foreach (var api in ApiMessages.All)
        {
            for (var version = api.LowestVersion; version <= api.HighestVersion; version++)
            {
                foreach (var (name, unit) in Patterns)
                {
                    var frame = MessageSamples.RequestFrame(api.ApiKey, version, Repeat(unit, BodyLength));
                    harness.Run(FuzzTargets.RequestFrame.Fuzz, frame, $"{api.Name} v{version} request of {name}", api.ApiKey == ApiKey.Produce);
                    var response = MessageSamples.ResponseFrame(api.ApiKey, version, Repeat(unit, BodyLength));
                    harness.Run(FuzzTargets.ResponseFrame.Fuzz, response, $"{api.Name} v{version} response of {name}");
                }
            }
        }

        harness.AssertClean();
    }

    [Fact]
    public void A_megabyte_of_maximal_varints_and_continuation_bytes_is_read_to_the_end_or_rejected()
    {
        var harness = new FuzzHarness("varint runs", FuzzSeeds.Fixed);

        // 174,762 legal reads of the longest varint of each kind (op byte, then 5 or 10 bytes).
        harness.Run(FuzzTargets.VarInts.Fuzz, Repeat([0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], 1 << 20), "max uvarints");
        harness.Run(FuzzTargets.VarInts.Fuzz, Repeat([0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], 1 << 20), "max varlongs");

        // An endless continuation run must stop at the fifth (varint) or tenth (varlong) byte.
        var continuation = Repeat([0x80], 1 << 20);
        continuation[0] = 0x03;
        harness.Run(FuzzTargets.VarInts.Fuzz, continuation, "continuation run");

        // Half a million empty compact arrays, strings and tagged sections: legal, each a 2-byte op.
        harness.Run(FuzzTargets.LengthPrefixed.Fuzz, Repeat([0x04, 0x01, 0x01, 0x01, 0x07, 0x00], 1 << 20), "empty compact values");

        // A count of 2^31-1 followed by a megabyte of bytes that could be elements.
        var count = Repeat([0x00], 1 << 20);
        count[0] = 0x0C;
        BinaryPrimitives.WriteInt32BigEndian(count.AsSpan(1), int.MaxValue);
        harness.Run(FuzzTargets.LengthPrefixed.Fuzz, count, "array count 2^31-1");
        harness.AssertClean();
        Assert.True(harness.Successes >= 3, "The legal runs must decode to the end.");
    }

    [Fact]
    public void Record_batch_with_hostile_record_and_header_counts_is_rejected_within_the_bound()
    {
        var harness = new FuzzHarness("hostile record counts", FuzzSeeds.Fixed);
        var batch = RecordBatchFuzzTests.BuildBatch(CompressionType.None, records: 3);

        // RecordCount 2^31-1 with a valid CRC: must be refused before anything is sized from it.
        var count = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(count.AsSpan(57), int.MaxValue);
        RecordBatchFuzzTests.FixLengthAndCrc(count);
        harness.Run(FuzzTargets.RecordBatches.Fuzz, count, "RecordCount 2^31-1", mayDecompress: true);

        // A single record whose length and header count are varint 2^31-1 (zigzag 0xFFFFFFFE), CRC fixed.
        var records = Repeat([0xFE, 0xFF, 0xFF, 0xFF, 0x0F], 4096);
        var huge = new byte[RecordBatchHeader.Size + records.Length];
        batch.AsSpan(0, RecordBatchHeader.Size).CopyTo(huge);
        records.CopyTo(huge, RecordBatchHeader.Size);
        BinaryPrimitives.WriteInt32BigEndian(huge.AsSpan(57), 1);
        RecordBatchFuzzTests.FixLengthAndCrc(huge);
        harness.Run(FuzzTargets.RecordBatches.Fuzz, huge, "record length 2^31-1", mayDecompress: true);
        harness.AssertClean();
        Assert.Equal(0, harness.Successes);
    }

    /// <summary>Whole copies of <paramref name="unit"/> filling at most <paramref name="length"/> bytes.</summary>
    private static byte[] Repeat(byte[] unit, int length)
    {
        var bytes = new byte[length / unit.Length * unit.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = unit[i % unit.Length];
        }

        return bytes;
    }
}
