using System;
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Lockstep.Protocol.Messages.Storage;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// The internal <c>__transaction_state</c> log in Kafka's record format (kip939-spec.md §7.12): key = int16 record
/// type 0 + <see cref="TransactionLogKey"/> v0; value = int16 version + <see cref="TransactionLogValue"/>; a null
/// value is the tombstone of an expired id.
/// </summary>
/// <remarks>
/// Single node: one partition holds every transactional id (Kafka hashes ids over 50 partitions to spread
/// leadership, which one node does not need). Nothing compacts it yet, so <see cref="Replay"/> reads it in full and
/// the last record per id wins, which is what compaction would preserve. Not a visible topic: TopicManager does not
/// know it, so Metadata never lists it.
/// </remarks>
internal sealed class TransactionLog(PartitionLog log, CompressionCodecRegistry codecs)
{
    /// <summary>Kafka's internal topic name (<c>Topic.TRANSACTION_STATE_TOPIC_NAME</c>).</summary>
    public const string TopicName = "__transaction_state";

    private const int ReplayReadBytes = 1 << 20;

    /// <summary>
    /// Appends the record of <paramref name="snapshot"/> (a tombstone when null) and returns the task that completes
    /// once it is durable. Throws <see cref="System.IO.IOException"/> when the write failed (nothing was appended).
    /// </summary>
    /// <param name="transactionalId">The id (the record key).</param>
    /// <param name="snapshot">The state to persist, or null for a tombstone.</param>
    /// <param name="serverTransactionVersion">The finalized <c>transaction.version</c>: ≥ 1 writes value v1
    /// (flexible, tagged fields), 0 writes v0 as Kafka does — unless a tagged field is needed (a kept KIP-939
    /// transaction or a producer-id rotation), which v0 cannot carry; then v1 is written regardless.</param>
    /// <param name="nowMs">Batch timestamp.</param>
    public Task AppendAsync(string transactionalId, TxnSnapshot? snapshot, short serverTransactionVersion, long nowMs)
    {
        var key = EncodeKey(transactionalId);
        var value = snapshot is null ? null : EncodeValue(snapshot, serverTransactionVersion);
        using var builder = new RecordBatchBuilder(CompressionType.None, codecs);
        builder.Append(nowMs, key, value);
        var batch = builder.ToArray();
        var info = log.Append(batch);
        return log.WaitForDurableAsync(info.LastOffset);
    }

    /// <summary>Replays the whole log in order: <paramref name="onRecord"/> gets each id with its state, or null for
    /// a tombstone.</summary>
    public void Replay(Action<string, TxnSnapshot?> onRecord)
    {
        var next = log.LogStartOffset;
        var end = log.LogEndOffset;
        while (next < end)
        {
            using var read = log.Read(next, ReplayReadBytes, end);
            var records = read.Records.Span;
            if (records.IsEmpty)
            {
                break;
            }

            while (records.Length >= RecordBatchHeader.Size)
            {
                var size = RecordBatchReader.PeekTotalSize(records);
                if (size <= 0 || size > records.Length)
                {
                    break;
                }

                var reader = RecordBatchReader.Create(records[..size], codecs);
                try
                {
                    next = reader.Header.LastOffset + 1;
                    while (reader.TryReadNext(out var record))
                    {
                        if (record.KeyIsNull || record.Key.Length < 2
                            || BinaryPrimitives.ReadInt16BigEndian(record.Key) != TransactionLogKey.CoordinatorRecordType)
                        {
                            continue; // Not a transaction-log record; Kafka's TransactionLog.readTxnRecordKey skips them too.
                        }

                        var keyReader = new KafkaReader(record.Key[2..]);
                        var id = TransactionLogKey.Read(ref keyReader, 0).TransactionalId;
                        onRecord(id, record.ValueIsNull ? null : DecodeValue(record.Value));
                    }
                }
                finally
                {
                    reader.Dispose();
                }

                records = records[size..];
            }
        }
    }

    private static byte[] EncodeKey(string transactionalId)
    {
        using var buffer = new PooledBufferWriter(64);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(TransactionLogKey.CoordinatorRecordType);
        new TransactionLogKey { TransactionalId = transactionalId }.Write(ref writer, 0);
        writer.Flush();
        return buffer.ToArray();
    }

    private static byte[] EncodeValue(TxnSnapshot s, short serverTransactionVersion)
    {
        var value = new TransactionLogValue
        {
            ProducerId = s.ProducerId,
            ProducerEpoch = s.ProducerEpoch,
            TransactionTimeoutMs = s.TimeoutMs,
            TransactionStatus = (sbyte)s.State,
            // Kafka writes null partitions for Empty (TransactionLog.valueToBytes).
            TransactionPartitions = s.State == TransactionState.Empty
                ? null
                : s.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => new TransactionLogValue.PartitionsSchema
                    {
                        Topic = g.Key,
                        PartitionIds = g.Select(p => p.Partition).Order().ToList(),
                    })
                    .ToList(),
            TransactionLastUpdateTimestampMs = s.LastUpdateMs,
            TransactionStartTimestampMs = s.StartMs,
            PreviousProducerId = s.PreviousProducerId,
            NextProducerId = s.NextProducerId,
            NextProducerEpoch = s.NextProducerEpoch,
            ClientTransactionVersion = s.ClientTransactionVersion,
        };
        var needsTaggedFields = s.PreviousProducerId != TxnSnapshot.NoProducerId || s.NextProducerId != TxnSnapshot.NoProducerId
            || s.NextProducerEpoch != TxnSnapshot.NoProducerEpoch || s.ClientTransactionVersion != 0;
        var version = (short)(serverTransactionVersion >= 1 || needsTaggedFields ? 1 : 0);
        using var buffer = new PooledBufferWriter(128);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(version);
        value.Write(ref writer, version);
        writer.Flush();
        return buffer.ToArray();
    }

    private static TxnSnapshot DecodeValue(ReadOnlySpan<byte> bytes)
    {
        var reader = new KafkaReader(bytes);
        var version = reader.ReadInt16();
        var value = TransactionLogValue.Read(ref reader, version);
        var partitions = ImmutableHashSet.CreateBuilder<TopicPartition>();
        foreach (var topic in value.TransactionPartitions ?? [])
        {
            foreach (var partition in topic.PartitionIds)
            {
                partitions.Add(new TopicPartition(topic.Topic, partition));
            }
        }

        var state = (TransactionState)value.TransactionStatus;
        if (state is < TransactionState.Empty or > TransactionState.PrepareEpochFence)
        {
            throw new System.IO.InvalidDataException($"Unknown transaction state {value.TransactionStatus} in {TopicName}.");
        }

        return new TxnSnapshot
        {
            ProducerId = value.ProducerId,
            PreviousProducerId = value.PreviousProducerId,
            NextProducerId = value.NextProducerId,
            ProducerEpoch = value.ProducerEpoch,
            NextProducerEpoch = value.NextProducerEpoch,
            TimeoutMs = value.TransactionTimeoutMs,
            State = state,
            Partitions = partitions.ToImmutable(),
            StartMs = value.TransactionStartTimestampMs,
            LastUpdateMs = value.TransactionLastUpdateTimestampMs,
            ClientTransactionVersion = value.ClientTransactionVersion,
        };
    }
}
