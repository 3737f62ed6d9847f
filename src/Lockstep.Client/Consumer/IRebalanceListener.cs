using System.Collections.Generic;
using System.Threading.Tasks;

namespace Lockstep.Client.Consumer;

/// <summary>What the group membership tells the consumer about partition ownership; called on the consume path
/// only (never from the heartbeat loop), so the consumer's fetch state needs no lock.</summary>
internal interface IRebalanceListener
{
    /// <summary>Partitions given up in an orderly rebalance (offsets may still be committed).</summary>
    Task OnRevokedAsync(IReadOnlyList<TopicPartition> partitions);

    /// <summary>Partitions newly owned.</summary>
    Task OnAssignedAsync(IReadOnlyList<TopicPartition> partitions);

    /// <summary>Partitions lost without a rebalance (session expired, fenced generation): another member may
    /// already own them, so committing their offsets would fail.</summary>
    Task OnLostAsync(IReadOnlyList<TopicPartition> partitions);
}
