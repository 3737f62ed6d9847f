using System;
using System.Buffers;

namespace Lockstep.Protocol.Records;

/// <summary>
/// Writes and reads transaction marker batches (KIP-98): a transactional control batch holding exactly one
/// record whose key is a <see cref="ControlRecordKey"/> and whose value is an <see cref="EndTxnMarker"/>, as Kafka's
/// <c>MemoryRecords.withEndTransactionMarker</c> writes them (uncompressed, BaseSequence -1, no headers).
/// </summary>
public static class ControlBatch
{
    /// <summary>
    /// Writes a COMMIT or ABORT marker batch for the producer to <paramref name="output"/> and returns its size.
    /// </summary>
    /// <param name="output">Destination.</param>
    /// <param name="type"><see cref="ControlRecordType.Commit"/> or <see cref="ControlRecordType.Abort"/>.</param>
    /// <param name="producerId">The transactional producer's id.</param>
    /// <param name="producerEpoch">The producer epoch the transaction ended in.</param>
    /// <param name="coordinatorEpoch">The transaction coordinator's epoch.</param>
    /// <param name="timestamp">The marker's timestamp (ms since the epoch).</param>
    /// <param name="baseOffset">BaseOffset to write; the log assigns the real one on append.</param>
    /// <param name="partitionLeaderEpoch">PartitionLeaderEpoch to write.</param>
    public static int Write(
        IBufferWriter<byte> output,
        ControlRecordType type,
        long producerId,
        short producerEpoch,
        int coordinatorEpoch,
        long timestamp,
        long baseOffset = 0,
        int partitionLeaderEpoch = -1)
    {
        if (type is not ControlRecordType.Commit and not ControlRecordType.Abort)
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Only COMMIT and ABORT markers are written.");
        }

        Span<byte> key = stackalloc byte[ControlRecordKey.Size];
        new ControlRecordKey(ControlRecordKey.CurrentVersion, type).Write(key);
        Span<byte> value = stackalloc byte[EndTxnMarker.Size];
        new EndTxnMarker(EndTxnMarker.CurrentVersion, coordinatorEpoch).Write(value);

        using var builder = new RecordBatchBuilder
        {
            BaseOffset = baseOffset,
            PartitionLeaderEpoch = partitionLeaderEpoch,
            ProducerId = producerId,
            ProducerEpoch = producerEpoch,
            BaseSequence = RecordBatchHeader.NoSequence,
            IsTransactional = true,
            IsControl = true,
        };
        builder.Append(timestamp, key, keyIsNull: false, value, valueIsNull: false, headers: default);
        return builder.WriteTo(output);
    }

    /// <summary>
    /// Reads the marker of a COMMIT or ABORT control batch (CRC checked). Raises
    /// <see cref="KafkaProtocolException"/> when the batch is not a control batch, does not hold exactly one
    /// record, or holds another control type.
    /// </summary>
    public static ControlRecordKey ReadMarker(ReadOnlySpan<byte> batch, out EndTxnMarker marker)
    {
        using var reader = RecordBatchReader.Create(batch, CompressionCodecRegistry.None);
        if (!reader.Header.IsControl)
        {
            ThrowHelper.ThrowProtocol("Record batch is not a control batch.");
        }

        if (reader.Header.RecordCount != 1 || !reader.TryReadNext(out var record))
        {
            ThrowHelper.ThrowProtocol($"Control batch holds {reader.Header.RecordCount} records; expected 1.");
            marker = default;
            return default;
        }

        if (record.KeyIsNull || record.ValueIsNull)
        {
            ThrowHelper.ThrowProtocol("Control record has a null key or value.");
        }

        var key = ControlRecordKey.Read(record.Key);
        if (key.Type is not ControlRecordType.Commit and not ControlRecordType.Abort)
        {
            ThrowHelper.ThrowProtocol($"Control record type {(short)key.Type} is not a transaction marker.");
        }

        marker = EndTxnMarker.Read(record.Value);
        reader.TryReadNext(out _);
        return key;
    }
}
