using System;
using System.Collections.Generic;
using Lockstep.Protocol;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Groups;

/// <summary>
/// Classic group states, as Kafka's <c>ClassicGroupState</c>. The names are what DescribeGroups and ListGroups
/// report (Kafka's <c>toString</c>), so they must not be renamed.
/// </summary>
internal enum GroupState
{
    /// <summary>No members; the group may still hold committed offsets.</summary>
    Empty,

    /// <summary>Waiting for members to (re)join before the next generation.</summary>
    PreparingRebalance,

    /// <summary>Join responses sent; waiting for the leader's SyncGroup with assignments.</summary>
    CompletingRebalance,

    /// <summary>Assignments distributed; members heartbeat.</summary>
    Stable,

    /// <summary>Deleted; kept only transiently while a removal is in flight.</summary>
    Dead,
}

/// <summary>One protocol a member supports (JoinGroup <c>Protocols</c> entry), in the member's preference order.</summary>
/// <param name="Name">Protocol (assignor) name, e.g. <c>range</c>.</param>
/// <param name="Metadata">Opaque member metadata for this protocol (the consumer's subscription).</param>
internal sealed record GroupProtocol(string Name, byte[] Metadata);

/// <summary>A JoinGroup request in domain terms (style-guide §3.2 rule 3).</summary>
internal sealed record JoinGroupArgs(
    string GroupId,
    string MemberId,
    string? GroupInstanceId,
    string ClientId,
    string ClientHost,
    int SessionTimeoutMs,
    int RebalanceTimeoutMs,
    string ProtocolType,
    IReadOnlyList<GroupProtocol> Protocols,
    bool RequireKnownMemberId,
    bool SupportsSkipAssignment);

/// <summary>A member as listed to the leader in its JoinGroup response.</summary>
internal sealed record JoinedMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

/// <summary>The outcome of a JoinGroup.</summary>
internal sealed record JoinGroupResult(
    ErrorCode Error,
    string MemberId,
    int GenerationId = -1,
    string? ProtocolType = null,
    string? ProtocolName = null,
    string Leader = "",
    bool SkipAssignment = false,
    IReadOnlyList<JoinedMember>? Members = null)
{
    /// <summary>An error answer that carries only the member id.</summary>
    public static JoinGroupResult Failed(ErrorCode error, string memberId) => new(error, memberId);
}

/// <summary>A SyncGroup request in domain terms.</summary>
internal sealed record SyncGroupArgs(
    string GroupId,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    string? ProtocolType,
    string? ProtocolName,
    IReadOnlyDictionary<string, byte[]> Assignments);

/// <summary>The outcome of a SyncGroup.</summary>
internal sealed record SyncGroupResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    /// <summary>An error answer with an empty assignment.</summary>
    public static SyncGroupResult Failed(ErrorCode error) => new(error, null, null, []);
}

/// <summary>A member named by LeaveGroup (v3+ batches; older versions send one member id).</summary>
internal sealed record LeavingMember(string MemberId, string? GroupInstanceId);

/// <summary>A per-member LeaveGroup outcome.</summary>
internal sealed record LeaveMemberResult(string MemberId, string? GroupInstanceId, ErrorCode Error);

/// <summary>A committed offset as stored (Kafka's <c>OffsetAndMetadata</c>).</summary>
/// <param name="Offset">The committed offset.</param>
/// <param name="LeaderEpoch">Leader epoch of the committed offset, -1 when the client sent none.</param>
/// <param name="Metadata">Client metadata string (never null; "" when none).</param>
/// <param name="CommitTimestampMs">When the commit was applied.</param>
/// <param name="ExpireTimestampMs">Explicit expiry (OffsetCommit v2-v4 retention time), or -1.</param>
/// <param name="Sequence">
/// Position of the record in <c>__consumer_offsets</c> append order (Kafka's <c>OffsetAndMetadata.recordOffset</c>): a
/// transactional commit that completes later is applied only if its record is newer than the committed offset's.
/// </param>
internal sealed record CommittedOffset(
    long Offset, int LeaderEpoch, string Metadata, long CommitTimestampMs, long ExpireTimestampMs, long Sequence = -1);

/// <summary>One partition of an OffsetCommit in domain terms.</summary>
internal sealed record OffsetCommitEntry(TopicPartition Partition, Guid TopicId, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>An OffsetCommit request in domain terms (already filtered to existing partitions by the handler).</summary>
internal sealed record OffsetCommitArgs(
    string GroupId,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    long RetentionTimeMs,
    bool UsesGroupIdNotFound,
    IReadOnlyList<OffsetCommitEntry> Entries);

/// <summary>A group as DescribeGroups reports it.</summary>
internal sealed record GroupDescription(
    string GroupId,
    GroupState State,
    string ProtocolType,
    string ProtocolData,
    IReadOnlyList<MemberDescription> Members);

/// <summary>A member as DescribeGroups reports it.</summary>
internal sealed record MemberDescription(
    string MemberId,
    string? GroupInstanceId,
    string ClientId,
    string ClientHost,
    byte[] Metadata,
    byte[] Assignment);

/// <summary>A group as ListGroups reports it.</summary>
internal sealed record GroupListing(string GroupId, string ProtocolType, GroupState State);

/// <summary>A TxnOffsetCommit request in domain terms (already filtered to existing partitions by the handler).</summary>
/// <param name="GroupId">The group.</param>
/// <param name="ProducerId">The transaction's producer id: the pending offsets are resolved by its marker.</param>
/// <param name="ProducerEpoch">The transaction's producer epoch (written in the transactional batch).</param>
/// <param name="GenerationId">v3+ generation (KIP-447 fencing), -1 for older versions or no group management.</param>
/// <param name="MemberId">v3+ member id, "" otherwise.</param>
/// <param name="GroupInstanceId">v3+ static member id.</param>
/// <param name="Entries">The offsets.</param>
internal sealed record TxnOffsetCommitArgs(
    string GroupId,
    long ProducerId,
    short ProducerEpoch,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    IReadOnlyList<OffsetCommitEntry> Entries);
