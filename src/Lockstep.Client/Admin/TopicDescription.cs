using System;
using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>A topic as described by Metadata.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="TopicId">The topic id (KIP-516), or <see cref="Guid.Empty"/> when the broker has none.</param>
/// <param name="IsInternal">True for internal topics such as <c>__consumer_offsets</c>.</param>
/// <param name="Partitions">The partitions, ordered by index.</param>
public sealed record TopicDescription(
    string Name, Guid TopicId, bool IsInternal, IReadOnlyList<TopicPartitionDescription> Partitions);
