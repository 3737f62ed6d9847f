using System.Collections.Generic;
using Lockstep.Protocol.Records;

namespace Lockstep.Client;

/// <summary>One record returned by <see cref="KafkaConsumer.ConsumeAsync"/>.</summary>
/// <param name="Topic">The topic the record was read from.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The record's offset. After processing it, the position to commit is <c>Offset + 1</c> only
/// when no control batch follows; <see cref="KafkaConsumer.CommitAsync(System.Threading.CancellationToken)"/>
/// commits the consumer's position, which also skips trailing transaction markers.</param>
/// <param name="Key">The key bytes, or null.</param>
/// <param name="Value">The value bytes, or null.</param>
/// <param name="Headers">Record headers in wire order (keys may repeat).</param>
/// <param name="Timestamp">Unix milliseconds: create time, or the broker's append time when
/// <see cref="IsLogAppendTime"/>.</param>
/// <param name="IsLogAppendTime">True when the topic uses <c>message.timestamp.type=LogAppendTime</c>.</param>
/// <param name="LeaderEpoch">The partition leader epoch stored in the batch (KIP-320), or -1.</param>
public sealed record ConsumeResult(
    string Topic,
    int Partition,
    long Offset,
    byte[]? Key,
    byte[]? Value,
    IReadOnlyList<RecordHeader> Headers,
    long Timestamp,
    bool IsLogAppendTime,
    int LeaderEpoch)
{
    /// <summary>The record's topic and partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);
}
