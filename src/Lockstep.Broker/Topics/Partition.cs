using System;
using Lockstep.Storage;

namespace Lockstep.Broker.Topics;

/// <summary>
/// One topic-partition hosted by this broker (always its leader): the log, plus the partition-level state the
/// produce and fetch paths need.
/// </summary>
internal sealed class Partition : IDisposable
{
    /// <summary>The leader epoch advertised in Metadata and record batches. A single node never changes leader,
    /// so it stays 0 (client-compat.md trap 8: epochs are exposed, so OffsetForLeaderEpoch is served).</summary>
    public const int LeaderEpoch = 0;

    /// <summary>Wraps an opened log.</summary>
    public Partition(BrokerCore core, TopicPartition id, Guid topicId, PartitionLog log)
    {
        Core = core;
        Id = id;
        TopicId = topicId;
        Log = log;
    }

    /// <summary>Broker services.</summary>
    public BrokerCore Core { get; }

    /// <summary>Topic and partition index.</summary>
    public TopicPartition Id { get; }

    /// <summary>The topic's id.</summary>
    public Guid TopicId { get; }

    /// <summary>The partition's durable log.</summary>
    public PartitionLog Log { get; }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
