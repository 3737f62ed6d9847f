using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>A member of a <see cref="GroupDescription"/>.</summary>
/// <param name="MemberId">The coordinator-assigned member id.</param>
/// <param name="GroupInstanceId">The static member id (KIP-345), or null.</param>
/// <param name="ClientId">The member's client.id.</param>
/// <param name="ClientHost">The member's address as the broker saw it.</param>
/// <param name="Assignment">Its partitions, decoded from the consumer protocol (empty for other protocols).</param>
public sealed record GroupMemberDescription(
    string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, IReadOnlyList<TopicPartition> Assignment);
