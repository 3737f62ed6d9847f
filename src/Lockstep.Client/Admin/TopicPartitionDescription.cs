using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>One partition of a <see cref="TopicDescription"/>.</summary>
/// <param name="Partition">The partition index.</param>
/// <param name="Leader">The leader's broker id, or -1 when leaderless.</param>
/// <param name="LeaderEpoch">The leader epoch, or -1.</param>
/// <param name="Replicas">Broker ids of all replicas.</param>
/// <param name="Isr">Broker ids of the in-sync replicas.</param>
public sealed record TopicPartitionDescription(
    int Partition, int Leader, int LeaderEpoch, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr);
