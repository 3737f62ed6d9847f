using System.Text;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Records;

/// <summary>
/// Builds magic-2 batches with <see cref="RecordBatchBuilder"/> and reads them back through both the span
/// reader and the materialising API, for every codec, checking every header field and record field: null versus
/// empty keys and values, headers with null values, large values, many records, producer and transaction fields.
/// </summary>
public sealed class RecordBatchRoundTripTests
{
    private static readonly CompressionCodecRegistry Codecs = KafkaCompression.CreateRegistry();

    public static TheoryData<CompressionType> AllCompressions =>
    [
        CompressionType.None,
        CompressionType.Gzip,
        CompressionType.Snappy,
        CompressionType.Lz4,
        CompressionType.Zstd,
    ];

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [MemberData(nameof(AllCompressions))]
    public void Build_then_read_preserves_every_field(CompressionType compression)
    {
        var large = new byte[200_000];
        new Random(7).NextBytes(large);
        using var builder = new RecordBatchBuilder(compression, Codecs)
        {
            BaseOffset = 1000,
            PartitionLeaderEpoch = 5,
            ProducerId = 4242,
            ProducerEpoch = 3,
            BaseSequence = 17,
            IsTransactional = true,
        };
        builder.Append(1_700_000_000_000, Bytes("k1"), Bytes("v1"));
        builder.Append(1_700_000_000_500, null, []);
        builder.Append(1_699_999_999_000, [], null, new RecordHeader("h1", Bytes("x")), new RecordHeader("h1", null),
            new RecordHeader("ключ", []));
        builder.Append(1_700_000_000_100, Bytes("big"), large);
        var bytes = builder.ToArray();

        var batch = RecordBatch.Read(bytes, Codecs);
        var h = batch.Header;
        Assert.Equal(bytes.Length, h.TotalSize);
        Assert.Equal(1000, h.BaseOffset);
        Assert.Equal(5, h.PartitionLeaderEpoch);
        Assert.Equal(compression, h.Compression);
        Assert.True(h.IsTransactional);
        Assert.False(h.IsControl);
        Assert.Equal(3, h.LastOffsetDelta);
        Assert.Equal(1_700_000_000_000, h.BaseTimestamp);
        Assert.Equal(1_700_000_000_500, h.MaxTimestamp);
        Assert.Equal(4242, h.ProducerId);
        Assert.Equal(3, h.ProducerEpoch);
        Assert.Equal(17, h.BaseSequence);
        Assert.Equal(20, h.LastSequence);
        Assert.Equal(4, h.RecordCount);
        Assert.True(Crc32C.IsValidBatch(bytes));

        var r = batch.Records;
        Assert.Equal(4, r.Count);
        Assert.Equal([1000L, 1001, 1002, 1003], r.Select(x => x.Offset));
        Assert.Equal(Bytes("k1"), r[0].Key);
        Assert.Equal(Bytes("v1"), r[0].Value);
        Assert.Empty(r[0].Headers);
        Assert.Null(r[1].Key);
        Assert.NotNull(r[1].Value);
        Assert.Empty(r[1].Value!);
        Assert.Equal(500, r[1].TimestampDelta);
        Assert.Equal(1_700_000_000_500, r[1].Timestamp);
        Assert.NotNull(r[2].Key);
        Assert.Empty(r[2].Key!);
        Assert.Null(r[2].Value);
        Assert.Equal(-1000, r[2].TimestampDelta);
        Assert.Equal(3, r[2].Headers.Count);
        Assert.Equal("h1", r[2].Headers[0].Key);
        Assert.Equal(Bytes("x"), r[2].Headers[0].Value);
        Assert.Equal("h1", r[2].Headers[1].Key);
        Assert.Null(r[2].Headers[1].Value);
        Assert.Equal("ключ", r[2].Headers[2].Key);
        Assert.Empty(r[2].Headers[2].Value!);
        Assert.Equal(large, r[3].Value);
    }

    [Theory]
    [MemberData(nameof(AllCompressions))]
    public void Many_records_round_trip_through_the_span_reader(CompressionType compression)
    {
        const int count = 5000;
        using var builder = new RecordBatchBuilder(compression, Codecs) { ProducerId = 1, ProducerEpoch = 0, BaseSequence = 0 };
        for (var i = 0; i < count; i++)
        {
            builder.Append(10_000 + i, Bytes($"key-{i}"), Bytes($"value-{i % 97}"));
        }

        var bytes = builder.ToArray();
        using var decompressed = new PooledBufferWriter();
        using var reader = RecordBatchReader.Create(bytes, Codecs, decompressed);
        Assert.Equal(bytes.Length, reader.Size);
        var seen = 0;
        while (reader.TryReadNext(out var record))
        {
            Assert.Equal(seen, record.OffsetDelta);
            Assert.Equal(10_000 + seen, record.Timestamp);
            Assert.True(record.Key.SequenceEqual(Bytes($"key-{seen}")));
            Assert.True(record.Value.SequenceEqual(Bytes($"value-{seen % 97}")));
            Assert.Equal(0, record.HeaderCount);
            seen++;
        }

        Assert.Equal(count, seen);
        Assert.Equal(count, reader.RecordsRead);
        Assert.Equal(count - 1, reader.Header.LastOffsetDelta);
        Assert.Equal(10_000 + count - 1, reader.Header.MaxTimestamp);
    }

    [Fact]
    public void Span_reader_enumerates_headers_in_place()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1, Bytes("k"), Bytes("v"), new RecordHeader("a", Bytes("1")), new RecordHeader("b", null));
        var bytes = builder.ToArray();

        using var reader = RecordBatchReader.Create(bytes, CompressionCodecRegistry.None);
        Assert.True(reader.TryReadNext(out var record));
        var keys = new List<string>();
        var nulls = new List<bool>();
        foreach (var header in record.Headers)
        {
            keys.Add(header.Key);
            nulls.Add(header.ValueIsNull);
        }

        Assert.Equal(["a", "b"], keys);
        Assert.Equal([false, true], nulls);
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void Uncompressed_record_bytes_match_hand_encoding()
    {
        // One record: timestamp = base, key "k", value null, no headers. DefaultRecord layout with zigzag varints:
        // length 6, attributes 0, timestampDelta 0, offsetDelta 0, key length 1 (zigzag 2) + 'k', value -1 (zigzag
        // 1), header count 0.
        using var builder = new RecordBatchBuilder();
        builder.Append(99, Bytes("k"), null);
        var bytes = builder.ToArray();
        Assert.Equal(new byte[] { 0x0E, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x01, 0x00 }, bytes[61..]);
        Assert.Equal(61 + 8 - 12, RecordBatchHeader.Read(bytes).BatchLength);
        Assert.Equal(2, bytes[16]);
        Assert.Equal(new byte[] { 0x00, 0x00 }, bytes[21..23]);
    }

    [Fact]
    public void Read_all_walks_concatenated_batches_and_skips_a_partial_tail_only_when_allowed()
    {
        using var buffer = new PooledBufferWriter();
        using (var builder = new RecordBatchBuilder(CompressionType.Lz4, Codecs))
        {
            builder.Append(1, Bytes("a"), Bytes("1"));
            builder.WriteTo(buffer);
            builder.Reset();
            builder.BaseOffset = 1;
            builder.Append(2, Bytes("b"), Bytes("2"));
            builder.Append(3, Bytes("c"), Bytes("3"));
            builder.WriteTo(buffer);
        }

        var all = buffer.ToArray();
        var batches = RecordBatch.ReadAll(all, Codecs);
        Assert.Equal(2, batches.Count);
        Assert.Equal([0L, 1, 2], batches.SelectMany(b => b.Records).Select(r => r.Offset));

        var cut = all[..^5];
        Assert.Single(RecordBatch.ReadAll(cut, Codecs, allowPartialTrailingBatch: true));
        Assert.Throws<KafkaProtocolException>(() => RecordBatch.ReadAll(cut, Codecs));
    }

    [Fact]
    public void Log_append_time_batches_report_max_timestamp_for_every_record()
    {
        using var builder = new RecordBatchBuilder { IsLogAppendTime = true };
        builder.Append(10, null, Bytes("a"));
        builder.Append(30, null, Bytes("b"));
        var batch = RecordBatch.Read(builder.ToArray(), CompressionCodecRegistry.None);
        Assert.True(batch.Header.IsLogAppendTime);
        Assert.All(batch.Records, r => Assert.Equal(30, r.Timestamp));
    }

    [Fact]
    public void Empty_builder_refuses_to_write()
    {
        using var builder = new RecordBatchBuilder();
        Assert.Throws<InvalidOperationException>(() => builder.ToArray());
    }

    [Fact]
    public void Compressed_batch_without_a_registered_codec_is_rejected()
    {
        using var builder = new RecordBatchBuilder(CompressionType.Zstd, Codecs);
        builder.Append(1, null, Bytes("x"));
        var bytes = builder.ToArray();
        Assert.Throws<KafkaProtocolException>(() => RecordBatch.Read(bytes, CompressionCodecRegistry.None));
    }
}
