using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Messages.Storage;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Groups;

/// <summary>
/// The internal <c>__consumer_offsets</c> log in Kafka's record format (GroupCoordinatorRecordSerde): the key is
/// an int16 record type (1 = offset commit, 2 = group metadata; legacy type 0 is also an offset commit) followed by
/// the key struct; the value is an int16 version followed by the value struct; a null value is a tombstone.
/// </summary>
/// <remarks>
/// Single node, so one partition holds every group. The log is never compacted (no log cleaner yet): it is replayed
/// in full on start, last write wins. Retention is disabled on it; expiry is done with tombstones instead.
/// </remarks>
internal sealed class GroupLog(PartitionLog log, CompressionCodecRegistry codecs)
{
    /// <summary>The internal topic, as Kafka names it (never listed by Metadata: TopicManager does not know it).</summary>
    public const string TopicName = "__consumer_offsets";

    /// <summary>Offset commit value version written: v3 carries the leader epoch and is not flexible.</summary>
    private const short OffsetValueVersion = 3;

    /// <summary>Group metadata value version written: v3 carries static member ids and is not flexible.</summary>
    private const short GroupValueVersion = 3;

    private const short LegacyOffsetRecordType = 0;

    private const int ReplayReadBytes = 1 << 20;

    /// <summary>A record to append: key bytes and value bytes (null value = tombstone).</summary>
    public readonly record struct Entry(byte[] Key, byte[]? Value);

    /// <summary>Encodes an offset commit (or its tombstone when <paramref name="value"/> is null).</summary>
    public static Entry OffsetRecord(string group, TopicPartition partition, CommittedOffset? value, Guid topicId)
    {
        var key = Encode(OffsetCommitKey.CoordinatorRecordType, 0, new OffsetCommitKey
        {
            group = group,
            topic = partition.Topic,
            partition = partition.Partition,
        });
        if (value is null)
        {
            return new Entry(key, null);
        }

        return new Entry(key, Encode(OffsetValueVersion, OffsetValueVersion, new OffsetCommitValue
        {
            offset = value.Offset,
            leaderEpoch = value.LeaderEpoch,
            metadata = value.Metadata,
            commitTimestamp = value.CommitTimestampMs,
            expireTimestamp = value.ExpireTimestampMs,
            topicId = topicId,
        }));
    }

    /// <summary>
    /// Encodes a group's metadata (or its tombstone). Members are not written: after a restart members rejoin and
    /// the group is rebuilt, which the brief allows; the generation and protocol survive so a new generation never
    /// reuses an old generation id that stale members could still present.
    /// </summary>
    public static Entry GroupRecord(ClassicGroup group, bool tombstone)
    {
        var key = Encode(GroupMetadataKey.CoordinatorRecordType, 0, new GroupMetadataKey { group = group.GroupId });
        if (tombstone)
        {
            return new Entry(key, null);
        }

        return new Entry(key, Encode(GroupValueVersion, GroupValueVersion, new GroupMetadataValue
        {
            protocolType = group.ProtocolType ?? "",
            generation = group.GenerationId,
            protocol = group.ProtocolName,
            leader = group.LeaderId,
            currentStateTimestamp = group.CurrentStateTimestampMs,
            members = [],
        }));
    }

    /// <summary>
    /// Appends <paramref name="entries"/> as one batch (atomic, like Kafka's coordinator writes) and returns the
    /// task that completes when it is durable. Throws <see cref="System.IO.IOException"/> when the write failed (then
    /// nothing was appended and the caller must not apply the change).
    /// </summary>
    public Task AppendAsync(IReadOnlyList<Entry> entries, long nowMs) =>
        AppendCoreAsync(entries, RecordBatchHeader.NoProducerId, -1, nowMs);

    /// <summary>
    /// Appends a transactional offset commit as Kafka does: one transactional batch carrying the producer id and
    /// epoch, whose records stay pending until a marker of that producer id (<see cref="AppendMarkerAsync"/>)
    /// follows. Same failure contract as <see cref="AppendAsync"/>.
    /// </summary>
    public Task AppendTransactionalAsync(IReadOnlyList<Entry> entries, long producerId, short producerEpoch, long nowMs) =>
        AppendCoreAsync(entries, producerId, producerEpoch, nowMs);

    /// <summary>
    /// Appends the COMMIT/ABORT control batch that resolves the pending transactional offsets of
    /// <paramref name="producerId"/> (Kafka's WriteTxnMarkers on a <c>__consumer_offsets</c> partition).
    /// </summary>
    public Task AppendMarkerAsync(long producerId, short producerEpoch, bool commit, long nowMs)
    {
        using var buffer = new PooledBufferWriter(128);
        ControlBatch.Write(buffer, commit ? ControlRecordType.Commit : ControlRecordType.Abort, producerId, producerEpoch,
            coordinatorEpoch: 0, nowMs);
        var batch = buffer.ToArray();
        var info = log.Append(batch);
        return log.WaitForDurableAsync(info.LastOffset);
    }

    private Task AppendCoreAsync(IReadOnlyList<Entry> entries, long producerId, short producerEpoch, long nowMs)
    {
        using var builder = new RecordBatchBuilder(CompressionType.None, codecs);
        if (producerId != RecordBatchHeader.NoProducerId)
        {
            builder.ProducerId = producerId;
            builder.ProducerEpoch = producerEpoch;
            builder.IsTransactional = true;
        }

        foreach (var entry in entries)
        {
            builder.Append(nowMs, entry.Key, entry.Value);
        }

        var batch = builder.ToArray();
        var info = log.Append(batch);
        return log.WaitForDurableAsync(info.LastOffset);
    }

    /// <summary>A task that completes once everything appended so far is durable.</summary>
    public Task WhenDurableAsync()
    {
        var end = log.LogEndOffset;
        return end == 0 ? Task.CompletedTask : log.WaitForDurableAsync(end - 1);
    }

    /// <summary>
    /// Replays the whole log in order, calling back for each record. A record that does not decode (e.g. a value
    /// version written by a newer release) is reported to <paramref name="onUndecodable"/> and skipped rather than
    /// failing the broker start: the batch CRC already vouches for the bytes.
    /// </summary>
    /// <param name="onOffset">An offset record (or tombstone) and the producer id of its transactional batch (−1 when
    /// the commit is not transactional).</param>
    /// <param name="onGroup">A group metadata record (or tombstone).</param>
    /// <param name="onMarker">A COMMIT (true) or ABORT (false) marker of a producer id.</param>
    /// <param name="onUndecodable">A record that could not be decoded.</param>
    public void Replay(
        Action<OffsetCommitKey, OffsetCommitValue?, long> onOffset,
        Action<GroupMetadataKey, GroupMetadataValue?> onGroup,
        Action<long, bool> onMarker,
        Action<long, KafkaProtocolException> onUndecodable)
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

                var header = RecordBatchHeader.Read(records);
                if (header.IsControl)
                {
                    next = header.LastOffset + 1;
                    try
                    {
                        var type = ControlBatch.ReadMarker(records[..size], out _).Type;
                        onMarker(header.ProducerId, type == ControlRecordType.Commit);
                    }
                    catch (KafkaProtocolException ex)
                    {
                        onUndecodable(header.BaseOffset, ex);
                    }

                    records = records[size..];
                    continue;
                }

                var producerId = header.IsTransactional ? header.ProducerId : RecordBatchHeader.NoProducerId;
                Action<OffsetCommitKey, OffsetCommitValue?> dispatchOffset = (k, v) => onOffset(k, v, producerId);
                var reader = RecordBatchReader.Create(records[..size], codecs);
                try
                {
                    next = reader.Header.LastOffset + 1;
                    while (reader.TryReadNext(out var record))
                    {
                        try
                        {
                            Dispatch(record.Key, record.KeyIsNull, record.Value, record.ValueIsNull, dispatchOffset, onGroup);
                        }
                        catch (KafkaProtocolException ex)
                        {
                            onUndecodable(record.Offset, ex);
                        }
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

    private static void Dispatch(
        ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull,
        Action<OffsetCommitKey, OffsetCommitValue?> onOffset, Action<GroupMetadataKey, GroupMetadataValue?> onGroup)
    {
        if (keyIsNull || key.Length < 2)
        {
            return;
        }

        var type = BinaryPrimitives.ReadInt16BigEndian(key);
        var keyReader = new KafkaReader(key[2..]);
        if (type == OffsetCommitKey.CoordinatorRecordType || type == LegacyOffsetRecordType)
        {
            var k = OffsetCommitKey.Read(ref keyReader, 0);
            onOffset(k, valueIsNull ? null : DecodeValue(value, OffsetCommitValue.Read));
        }
        else if (type == GroupMetadataKey.CoordinatorRecordType)
        {
            var k = GroupMetadataKey.Read(ref keyReader, 0);
            onGroup(k, valueIsNull ? null : DecodeValue(value, GroupMetadataValue.Read));
        }

        // Other record types (consumer/share/streams groups) are not written by Lockstep; skip them.
    }

    private delegate T ValueReader<T>(ref KafkaReader reader, short version);

    private static T DecodeValue<T>(ReadOnlySpan<byte> value, ValueReader<T> read)
    {
        var reader = new KafkaReader(value);
        var version = reader.ReadInt16();
        return read(ref reader, version);
    }

    private static byte[] Encode<T>(short prefix, short version, T message)
        where T : IKafkaMessage<T>
    {
        using var buffer = new PooledBufferWriter(128);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(prefix);
        message.Write(ref writer, version);
        writer.Flush();
        return buffer.ToArray();
    }
}
