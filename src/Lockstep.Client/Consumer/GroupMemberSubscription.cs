using System.Collections.Generic;

namespace Lockstep.Client.Consumer;

/// <summary>One member's JoinGroup metadata as the leader sees it.</summary>
/// <param name="MemberId">The coordinator-assigned member id.</param>
/// <param name="GroupInstanceId">Static membership id (KIP-345), or null.</param>
/// <param name="Topics">Subscribed topics.</param>
/// <param name="OwnedPartitions">Partitions the member currently owns (subscription v1+, KIP-429).</param>
internal sealed record GroupMemberSubscription(
    string MemberId, string? GroupInstanceId, IReadOnlyList<string> Topics, IReadOnlyList<TopicPartition> OwnedPartitions)
{
    /// <summary>The id assignors sort by: the static id when there is one, so assignments survive restarts (Java's
    /// <c>AbstractPartitionAssignor.MemberInfo</c> ordering).</summary>
    public string SortKey => GroupInstanceId ?? MemberId;
}
