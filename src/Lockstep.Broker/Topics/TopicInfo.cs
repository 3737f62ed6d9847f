using System;
using System.Collections.Generic;

namespace Lockstep.Broker.Topics;

/// <summary>
/// An immutable snapshot of one topic. <see cref="TopicManager"/> replaces the whole snapshot on every change
/// (CreatePartitions, AlterConfigs), so readers never see a half-updated topic.
/// </summary>
/// <param name="Name">Topic name.</param>
/// <param name="TopicId">Topic id (KIP-516), random at creation, stable across restarts.</param>
/// <param name="Partitions">The partitions, index = partition number.</param>
/// <param name="Configs">Topic-level config overrides (Kafka topic config names).</param>
internal sealed record TopicInfo(
    string Name,
    Guid TopicId,
    IReadOnlyList<Partition> Partitions,
    IReadOnlyDictionary<string, string> Configs)
{
    /// <summary>Whether the topic is internal (none are exposed today).</summary>
    public bool IsInternal { get; init; }
}
