namespace Lockstep.Client;

/// <summary>Where a produced record was stored.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partition">The partition the record went to.</param>
/// <param name="Offset">The record's offset in the partition; -1 with <c>acks=0</c>, where the broker does not
/// answer.</param>
/// <param name="Timestamp">The record timestamp in Unix milliseconds: the broker's log-append time when the topic
/// uses <c>LogAppendTime</c>, else the create time the producer assigned.</param>
public sealed record DeliveryResult(string Topic, int Partition, long Offset, long Timestamp)
{
    /// <summary>The record's topic and partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);
}
