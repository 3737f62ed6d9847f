using System.Collections.Generic;

namespace Lockstep.Client.Consumer;

/// <summary>A client-side assignor of the classic group protocol, run by the group leader.</summary>
internal interface IPartitionAssignor
{
    /// <summary>The protocol name sent in JoinGroup (<c>range</c>, <c>cooperative-sticky</c>).</summary>
    string Name { get; }

    /// <summary>True for KIP-429 incremental rebalancing: members keep their partitions across the JoinGroup and
    /// revoke only those taken away.</summary>
    bool IsCooperative { get; }

    /// <summary>Assigns every partition of a subscribed topic to exactly one member subscribed to it.</summary>
    /// <param name="partitionsPerTopic">Partition count of each subscribed topic (topics missing from metadata are
    /// absent).</param>
    /// <param name="members">The members with their subscriptions.</param>
    /// <returns>Member id → its partitions (every member has an entry, possibly empty).</returns>
    Dictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic, IReadOnlyList<GroupMemberSubscription> members);
}
