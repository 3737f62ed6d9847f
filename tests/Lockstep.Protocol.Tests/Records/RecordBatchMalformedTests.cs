using System.Buffers.Binary;
using System.Text;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Records;

/// <summary>
/// Hostile and corrupt batches: every defect listed in RecordBatchReader's contract (bad CRC, truncation at any
/// byte, hostile lengths and counts, varint overflow, size mismatches, bytes past the last record, corrupt or
/// oversized compressed payloads) must raise <see cref="KafkaProtocolException"/> and nothing else. Method: build a
/// valid batch, splice hand-encoded record bytes into it, re-seal the CRC so that the record parser (not the CRC
/// check) is what rejects it, and for hostile sizes measure the bytes allocated.
/// </summary>
public sealed class RecordBatchMalformedTests
{
    private static readonly CompressionCodecRegistry Codecs = KafkaCompression.CreateRegistry();

    /// <summary>Builds a batch header around raw record bytes with a correct CRC.</summary>
    private static byte[] Seal(byte[] records, int recordCount, CompressionType compression = CompressionType.None)
    {
        var bytes = new byte[RecordBatchHeader.Size + records.Length];
        new RecordBatchHeader(0, bytes.Length - 12, -1, 2, 0, (short)compression, Math.Max(recordCount - 1, 0), 0, 0,
            -1, -1, -1, recordCount).Write(bytes);
        records.CopyTo(bytes, RecordBatchHeader.Size);
        Reseal(bytes);
        return bytes;
    }

    private static void Reseal(byte[] batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch.AsSpan(17), Crc32C.Compute(batch.AsSpan(21)));

    private static KafkaProtocolException ReadFails(byte[] batch) =>
        Assert.Throws<KafkaProtocolException>(() => RecordBatch.Read(batch, Codecs));

    private static byte[] SampleBatch(CompressionType compression)
    {
        using var builder = new RecordBatchBuilder(compression, Codecs) { ProducerId = 9, ProducerEpoch = 1, BaseSequence = 0 };
        builder.Append(5, Encoding.UTF8.GetBytes("key"), Encoding.UTF8.GetBytes("value"), new RecordHeader("h", [1, 2]));
        builder.Append(6, null, Encoding.UTF8.GetBytes("second"));
        return builder.ToArray();
    }

    public static TheoryData<CompressionType> AllCompressions =>
    [
        CompressionType.None,
        CompressionType.Gzip,
        CompressionType.Snappy,
        CompressionType.Lz4,
        CompressionType.Zstd,
    ];

    [Theory]
    [MemberData(nameof(AllCompressions))]
    public void Truncation_at_every_byte_offset_is_rejected(CompressionType compression)
    {
        var batch = SampleBatch(compression);
        for (var length = 0; length < batch.Length; length++)
        {
            ReadFails(batch[..length]);
        }

        Assert.Equal(2, RecordBatch.Read(batch, Codecs).Records.Count);
    }

    [Theory]
    [MemberData(nameof(AllCompressions))]
    public void Flipping_any_crc_covered_byte_is_detected(CompressionType compression)
    {
        var batch = SampleBatch(compression);
        for (var i = RecordBatchHeader.AttributesOffset; i < batch.Length; i++)
        {
            var copy = (byte[])batch.Clone();
            copy[i] ^= 0x40;
            var ex = ReadFails(copy);
            Assert.Contains("CRC", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(AllCompressions))]
    public void Random_corruption_with_a_resealed_crc_only_ever_raises_KafkaProtocolException(CompressionType compression)
    {
        var batch = SampleBatch(compression);
        var random = new Random(1234 + (int)compression);
        for (var i = 0; i < 400; i++)
        {
            var copy = (byte[])batch.Clone();
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                // Keep the header's fixed fields mostly intact so the records parser and codecs are exercised.
                var at = random.Next(RecordBatchHeader.Size - 4, copy.Length);
                copy[at] = (byte)random.Next(256);
            }

            Reseal(copy);
            try
            {
                RecordBatch.Read(copy, Codecs);
            }
            catch (KafkaProtocolException)
            {
                // Expected for most mutations; any other exception type fails the test.
            }
        }
    }

    [Fact]
    public void Hostile_record_length_is_rejected_without_allocating_it()
    {
        // Record length varint = int.MaxValue (zigzag 0xFE 0xFF 0xFF 0xFF 0x0F) followed by 3 bytes.
        var batch = Seal([0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0], 1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        ReadFails(batch);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void Hostile_record_count_is_rejected_before_allocation()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1, null, [1]);
        var batch = builder.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(57), int.MaxValue);
        Reseal(batch);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = ReadFails(batch);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
        Assert.Contains("cannot hold", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_record_count_is_rejected()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1, null, [1]);
        var batch = builder.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(57), -1);
        Reseal(batch);
        ReadFails(batch);
    }

    [Fact]
    public void Hostile_batch_length_is_rejected()
    {
        var batch = SampleBatch(CompressionType.None);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), int.MaxValue);
        ReadFails(batch);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), 10);
        ReadFails(batch);
    }

    // Record bodies below are hand-encoded: zigzag varint n is 2n (n >= 0) or -2n-1 (n < 0).
    [Theory]
    [InlineData(new byte[] { 0x0E, 0, 0, 0, 0x03, 0x01, 0x00, 0 }, "key length -2")]
    [InlineData(new byte[] { 0x0E, 0, 0, 0, 0x01, 0x05, 0x00, 0 }, "value length -3")]
    [InlineData(new byte[] { 0x0C, 0, 0, 0, 0x01, 0x01, 0x01 }, "header count -1")]
    [InlineData(new byte[] { 0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x00 }, "header key length -1")]
    [InlineData(new byte[] { 0x10, 0, 0, 0, 0x01, 0x01, 0x00, 0x00, 0x00 }, "record longer than its fields")]
    [InlineData(new byte[] { 0x0A, 0, 0, 0, 0x01, 0x01, 0x00 }, "record shorter than its fields")]
    [InlineData(new byte[] { 0x0E, 0, 0, 0, 0x01, 0x14, 0x00, 0 }, "value runs past the record")]
    [InlineData(new byte[] { 0x7E, 0, 0, 0, 0x01, 0x01, 0x00, 0 }, "record runs past the batch")]
    [InlineData(new byte[] { 0x12, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "key length varint overflow")]
    [InlineData(new byte[] { 0x0C, 0, 0, 0, 0x01, 0x01, 0x00, 0x0C, 0, 0, 0, 0x01, 0x01, 0x00 }, "two records, count 1")]
    public void Malformed_record_is_rejected(byte[] records, string why)
    {
        var ex = ReadFails(Seal(records, 1));
        Assert.False(string.IsNullOrEmpty(ex.Message), why);
    }

    [Fact]
    public void Hand_encoded_minimal_record_is_accepted_by_the_same_sealer()
    {
        // Guards the table above: the same sealer with a well-formed record (key null, value null) must parse.
        var batch = RecordBatch.Read(Seal([0x0C, 0, 0, 0, 0x01, 0x01, 0x00], 1), Codecs);
        var record = Assert.Single(batch.Records);
        Assert.Null(record.Key);
        Assert.Null(record.Value);
    }

    [Fact]
    public void Record_count_larger_than_the_records_present_is_rejected()
    {
        // One 20-byte record declared as 2: the cheap count guard (2 x 7 <= 20) passes, so the reader itself
        // must notice that the second record is missing.
        using var builder = new RecordBatchBuilder();
        builder.Append(1, new byte[13], null);
        var batch = builder.ToArray();
        Assert.Equal(61 + 20, batch.Length);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(57), 2);
        Reseal(batch);
        ReadFails(batch);

        // And a count the bytes cannot possibly hold is stopped by the guard.
        var one = new byte[] { 0x0C, 0, 0, 0, 0x01, 0x01, 0x00 };
        var ex = ReadFails(Seal([.. one, .. one], 3));
        Assert.Contains("cannot hold", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_compression_id_is_rejected()
    {
        var batch = Seal([0x0C, 0, 0, 0, 0x01, 0x01, 0x00], 1, (CompressionType)5);
        var ex = ReadFails(batch);
        Assert.Contains("compression", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Garbage_compressed_payload_is_rejected(CompressionType compression)
    {
        var garbage = new byte[300];
        new Random(99).NextBytes(garbage);
        ReadFails(Seal(garbage, 1, compression));
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Decompression_bomb_batch_is_rejected_by_the_registry_limit(CompressionType compression)
    {
        using var builder = new RecordBatchBuilder(compression, Codecs);
        builder.Append(1, null, new byte[4 * 1024 * 1024]);
        var batch = builder.ToArray();
        Assert.True(batch.Length < 1024 * 1024, "the zeros should compress well");

        var small = Codecs.WithMaxDecompressedBytes(1024 * 1024);
        Assert.Throws<KafkaProtocolException>(() => RecordBatch.Read(batch, small));
        Assert.Single(RecordBatch.Read(batch, Codecs).Records);
    }
}
