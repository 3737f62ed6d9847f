using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Records;

/// <summary>
/// Transaction markers (KIP-98): the control key and EndTxnMarker value against hand-computed bytes from
/// ControlRecordTypeSchema.json and EndTxnMarker.json (version int16 prefix, big-endian), and full COMMIT/ABORT
/// batches built by <see cref="ControlBatch.Write"/> read back with every header flag checked.
/// </summary>
public sealed class ControlBatchTests
{
    [Fact]
    public void Control_key_bytes_match_hand_encoding()
    {
        Span<byte> key = stackalloc byte[4];
        new ControlRecordKey(0, ControlRecordType.Commit).Write(key);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x01 }, key.ToArray());
        new ControlRecordKey(0, ControlRecordType.Abort).Write(key);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x00 }, key.ToArray());
        Assert.Equal(new ControlRecordKey(0, ControlRecordType.Commit), ControlRecordKey.Read([0, 0, 0, 1]));
    }

    [Fact]
    public void End_txn_marker_bytes_match_hand_encoding()
    {
        Span<byte> value = stackalloc byte[6];
        new EndTxnMarker(0, 0x01020304).Write(value);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04 }, value.ToArray());
        Assert.Equal(new EndTxnMarker(0, -2), EndTxnMarker.Read([0, 0, 0xFF, 0xFF, 0xFF, 0xFE]));
    }

    [Fact]
    public void Newer_versions_parse_as_version_zero_and_invalid_ones_fail()
    {
        Assert.Equal(ControlRecordType.Abort, ControlRecordKey.Read([0, 1, 0, 0, 0xAA]).Type);
        Assert.Equal(7, EndTxnMarker.Read([0, 3, 0, 0, 0, 7, 9]).CoordinatorEpoch);
        Assert.Throws<KafkaProtocolException>(() => ControlRecordKey.Read([0, 0, 0]));
        Assert.Throws<KafkaProtocolException>(() => ControlRecordKey.Read([0xFF, 0xFF, 0, 1]));
        Assert.Throws<KafkaProtocolException>(() => EndTxnMarker.Read([0, 0, 0, 0, 0]));
        Assert.Throws<KafkaProtocolException>(() => EndTxnMarker.Read([0x80, 0, 0, 0, 0, 0]));
    }

    [Theory]
    [InlineData(ControlRecordType.Commit)]
    [InlineData(ControlRecordType.Abort)]
    public void Marker_batch_round_trips_with_transactional_and_control_flags(ControlRecordType type)
    {
        using var buffer = new PooledBufferWriter();
        var size = ControlBatch.Write(buffer, type, producerId: 77, producerEpoch: 4, coordinatorEpoch: 12,
            timestamp: 1_234_567, baseOffset: 500, partitionLeaderEpoch: 2);
        var bytes = buffer.ToArray();
        Assert.Equal(size, bytes.Length);

        var header = RecordBatchHeader.Read(bytes);
        Assert.True(header.IsControl);
        Assert.True(header.IsTransactional);
        Assert.Equal(0x30, header.Attributes);
        Assert.Equal(CompressionType.None, header.Compression);
        Assert.Equal(77, header.ProducerId);
        Assert.Equal(4, header.ProducerEpoch);
        Assert.Equal(-1, header.BaseSequence);
        Assert.Equal(1, header.RecordCount);
        Assert.Equal(0, header.LastOffsetDelta);
        Assert.Equal(500, header.BaseOffset);
        Assert.Equal(2, header.PartitionLeaderEpoch);
        Assert.Equal(1_234_567, header.MaxTimestamp);
        Assert.True(Crc32C.IsValidBatch(bytes));

        // The single record: length 16 (zigzag 0x20), attributes, deltas, key length 4, key, value length 6,
        // value, header count 0.
        Assert.Equal(
            new byte[] { 0x20, 0, 0, 0, 0x08, 0, 0, 0, (byte)type, 0x0C, 0, 0, 0, 0, 0, 12, 0 },
            bytes[61..]);

        var key = ControlBatch.ReadMarker(bytes, out var marker);
        Assert.Equal(type, key.Type);
        Assert.Equal(12, marker.CoordinatorEpoch);
    }

    [Fact]
    public void Read_marker_rejects_a_data_batch()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1, null, [1, 2, 3]);
        Assert.Throws<KafkaProtocolException>(() => ControlBatch.ReadMarker(builder.ToArray(), out _));
    }
}
