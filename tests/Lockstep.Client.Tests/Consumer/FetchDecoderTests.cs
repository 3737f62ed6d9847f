using Lockstep.Client.Consumer;
using Lockstep.Protocol;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: the read_committed filter is exactly kip939-spec.md §8.7 (Java's CompletedFetch): aborted transactions are
/// dropped from the first offset the broker lists up to the producer's ABORT marker, a later transaction of the same
/// producer is visible again, control records are never returned, and the next fetch offset passes every complete
/// batch, markers included. Method: hand-built fetch payloads (batches laid end to end, as a Fetch response carries
/// them) decoded by <see cref="FetchDecoder"/>.
/// </summary>
public sealed class FetchDecoderTests
{
    private static readonly TopicPartition Tp = new("t", 0);
    private static readonly CompressionCodecRegistry Codecs = KafkaCompression.CreateRegistry();

    /// <summary>
    /// Offsets: 0-1 plain (zstd), 2-3 pid 10 (aborted), 4 pid 11 (committed), 5 ABORT pid 10, 6 COMMIT pid 11,
    /// 7-8 pid 10 again (committed), 9 COMMIT pid 10.
    /// </summary>
    private static byte[] Interleaved(out List<FetchResponse.AbortedTransaction> aborted)
    {
        using var output = new PooledBufferWriter();
        Data(output, 0, RecordBatchHeader.NoProducerId, transactional: false, 2, CompressionType.Zstd);
        Data(output, 2, 10, transactional: true, 2);
        Data(output, 4, 11, transactional: true, 1);
        ControlBatch.Write(output, ControlRecordType.Abort, 10, 0, 0, 1000, baseOffset: 5);
        ControlBatch.Write(output, ControlRecordType.Commit, 11, 0, 0, 1000, baseOffset: 6);
        Data(output, 7, 10, transactional: true, 2);
        ControlBatch.Write(output, ControlRecordType.Commit, 10, 0, 0, 1000, baseOffset: 9);
        aborted = [new FetchResponse.AbortedTransaction { ProducerId = 10, FirstOffset = 2 }];
        return output.ToArray();
    }

    private static void Data(
        PooledBufferWriter output, long baseOffset, long producerId, bool transactional, int count,
        CompressionType compression = CompressionType.None)
    {
        using var builder = new RecordBatchBuilder(compression, Codecs)
        {
            BaseOffset = baseOffset,
            ProducerId = producerId,
            ProducerEpoch = (short)(producerId < 0 ? -1 : 0),
            BaseSequence = producerId < 0 ? RecordBatchHeader.NoSequence : (int)baseOffset,
            IsTransactional = transactional,
        };
        for (var i = 0; i < count; i++)
        {
            builder.Append(1000 + baseOffset + i, Bytes($"k{baseOffset + i}"), Bytes($"v{baseOffset + i}"));
        }

        builder.WriteTo(output);
    }

    [Fact]
    public void Read_committed_drops_the_aborted_transaction_and_returns_later_transactions_of_the_same_producer()
    {
        var records = new List<ConsumeResult>();
        var next = FetchDecoder.Decode(Tp, Interleaved(out var aborted), aborted, readCommitted: true, 0, Codecs, records);

        Assert.Equal([0L, 1L, 4L, 7L, 8L], records.Select(r => r.Offset));
        Assert.Equal(["v0", "v1", "v4", "v7", "v8"], records.Select(r => Text(r.Value)));
        Assert.Equal(10, next); // past the trailing COMMIT marker at 9, not 8 + 1
    }

    [Fact]
    public void Read_uncommitted_returns_every_data_record_and_still_skips_markers()
    {
        var records = new List<ConsumeResult>();
        var next = FetchDecoder.Decode(Tp, Interleaved(out var aborted), aborted, readCommitted: false, 0, Codecs, records);

        Assert.Equal([0L, 1L, 2L, 3L, 4L, 7L, 8L], records.Select(r => r.Offset));
        Assert.Equal(10, next);
    }

    [Fact]
    public void Records_below_the_fetch_offset_in_a_compressed_batch_are_not_returned_again()
    {
        var records = new List<ConsumeResult>();
        var next = FetchDecoder.Decode(Tp, Interleaved(out var aborted), aborted, readCommitted: true, 1, Codecs, records);

        Assert.Equal([1L, 4L, 7L, 8L], records.Select(r => r.Offset));
        Assert.Equal(10, next);
    }

    [Fact]
    public void A_partial_trailing_batch_is_left_for_the_next_fetch()
    {
        using var output = new PooledBufferWriter();
        Data(output, 0, RecordBatchHeader.NoProducerId, transactional: false, 3);
        var complete = output.WrittenCount;
        Data(output, 3, RecordBatchHeader.NoProducerId, transactional: false, 3);
        var truncated = output.WrittenSpan[..(complete + 20)].ToArray();

        var records = new List<ConsumeResult>();
        var next = FetchDecoder.Decode(Tp, truncated, null, readCommitted: true, 0, Codecs, records);

        Assert.Equal([0L, 1L, 2L], records.Select(r => r.Offset));
        Assert.Equal(3, next);
    }

    [Fact]
    public void A_fetch_of_only_a_marker_advances_the_position_past_it()
    {
        using var output = new PooledBufferWriter();
        ControlBatch.Write(output, ControlRecordType.Commit, 7, 0, 0, 1000, baseOffset: 41);
        var records = new List<ConsumeResult>();

        var next = FetchDecoder.Decode(Tp, output.WrittenSpan, [], readCommitted: true, 41, Codecs, records);

        Assert.Empty(records);
        Assert.Equal(42, next);
    }

    [Fact]
    public void A_corrupt_batch_raises_KafkaProtocolException()
    {
        using var output = new PooledBufferWriter();
        Data(output, 0, RecordBatchHeader.NoProducerId, transactional: false, 2);
        var bytes = output.ToArray();
        bytes[^1] ^= 0xFF; // breaks the CRC

        Assert.Throws<KafkaProtocolException>(() =>
            FetchDecoder.Decode(Tp, bytes, null, readCommitted: true, 0, Codecs, []));
    }
}
