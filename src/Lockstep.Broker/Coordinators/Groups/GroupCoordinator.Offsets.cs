using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Groups;

// Committed offsets (Kafka's OffsetMetadataManager) and the group admin APIs (DescribeGroups, ListGroups,
// DeleteGroups, OffsetDelete).
internal sealed partial class GroupCoordinator
{
    /// <summary>
    /// OffsetCommit: one error per entry of <paramref name="args"/>, in order. Completes only once the commit is
    /// durable in <c>__consumer_offsets</c>.
    /// </summary>
    public async Task<IReadOnlyList<ErrorCode>> CommitOffsetsAsync(OffsetCommitArgs args)
    {
        var (errors, durable) = await SubmitAsync(() => Commit(args)).ConfigureAwait(false);
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The fsync failed: the commit may not survive a restart. Kafka maps storage errors of coordinator
            // writes to NOT_COORDINATOR, which makes the client rediscover the coordinator and retry.
            return errors.Select(e => e == ErrorCode.None ? ErrorCode.NotCoordinator : e).ToList();
        }

        return errors;
    }

    /// <summary>
    /// OffsetFetch for one group. <paramref name="topics"/> null = every committed partition. Returns a group-level
    /// error or one entry per partition (offset -1 when none). Waits until everything it reports is durable.
    /// </summary>
    public async Task<(ErrorCode Error, IReadOnlyList<(TopicPartition Partition, CommittedOffset? Offset, ErrorCode Error)> Partitions)> FetchOffsetsAsync(
        string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics, bool requireStable)
    {
        var (result, durable) = await SubmitAsync(() => (Fetch(groupId, topics, requireStable), Log.WhenDurableAsync())).ConfigureAwait(false);
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (IOException)
        {
            return (ErrorCode.NotCoordinator, []);
        }

        return result;
    }

    /// <summary>DescribeGroups: a description per id, or null for a group that does not exist.</summary>
    public Task<IReadOnlyList<GroupDescription?>> DescribeGroupsAsync(IReadOnlyList<string> groupIds) =>
        SubmitAsync<IReadOnlyList<GroupDescription?>>(() => groupIds.Select(Describe).ToList());

    /// <summary>ListGroups: every group (Kafka lists Empty groups that still hold offsets too).</summary>
    public Task<IReadOnlyList<GroupListing>> ListGroupsAsync() =>
        SubmitAsync<IReadOnlyList<GroupListing>>(() => _groups.Values
            .Where(g => !g.Is(GroupState.Dead))
            .Select(g => new GroupListing(g.GroupId, g.ProtocolType ?? "", g.State))
            .ToList());

    /// <summary>DeleteGroups: one error per id; completes when the tombstones are durable.</summary>
    public async Task<IReadOnlyList<ErrorCode>> DeleteGroupsAsync(IReadOnlyList<string> groupIds)
    {
        var (errors, durable) = await SubmitAsync(() => DeleteGroups(groupIds)).ConfigureAwait(false);
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (IOException)
        {
            return errors.Select(e => e == ErrorCode.None ? ErrorCode.NotCoordinator : e).ToList();
        }

        return errors;
    }

    /// <summary>OffsetDelete: a group-level error, or one error per partition; completes when durable.</summary>
    public async Task<(ErrorCode Error, IReadOnlyList<ErrorCode> Partitions)> DeleteOffsetsAsync(
        string groupId, IReadOnlyList<TopicPartition> partitions)
    {
        var (error, results, durable) = await SubmitAsync(() => DeleteOffsets(groupId, partitions)).ConfigureAwait(false);
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (IOException)
        {
            return (ErrorCode.NotCoordinator, []);
        }

        return (error, results);
    }

    // ---- OffsetCommit ---------------------------------------------------------------------------------------

    private (IReadOnlyList<ErrorCode>, Task) Commit(OffsetCommitArgs args)
    {
        var now = NowMs;
        if (!_groups.TryGetValue(args.GroupId, out var group))
        {
            if (args.GenerationId < 0)
            {
                // A consumer without group management (or the admin client) commits: a "simple" group is created.
                group = GetOrCreateGroup(args.GroupId, now);
            }
            else
            {
                // OffsetCommit v9+ says GROUP_ID_NOT_FOUND; older versions keep ILLEGAL_GENERATION
                // (OffsetMetadataManager.validateOffsetCommit).
                return (Fill(args, args.UsesGroupIdNotFound ? ErrorCode.GroupIdNotFound : ErrorCode.IllegalGeneration), Task.CompletedTask);
            }
        }

        var error = ValidateOffsetCommit(group, args);
        if (error != ErrorCode.None)
        {
            return (Fill(args, error), Task.CompletedTask);
        }

        // A commit keeps the member's session alive in Stable/PreparingRebalance, as in Kafka.
        if (group.State is GroupState.Stable or GroupState.PreparingRebalance && group.HasMember(args.MemberId))
        {
            ScheduleHeartbeatExpiry(group, args.MemberId, group.Member(args.MemberId).SessionTimeoutMs);
        }

        var errors = new ErrorCode[args.Entries.Count];
        var records = new List<GroupLog.Entry>(args.Entries.Count);
        var applied = new List<(TopicPartition, CommittedOffset)>(args.Entries.Count);
        var expire = args.RetentionTimeMs >= 0 ? now + args.RetentionTimeMs : -1;
        for (var i = 0; i < args.Entries.Count; i++)
        {
            var entry = args.Entries[i];
            var metadata = entry.Metadata ?? "";
            if (metadata.Length > OffsetMetadataMaxBytes)
            {
                errors[i] = ErrorCode.OffsetMetadataTooLarge;
                continue;
            }

            var value = new CommittedOffset(entry.Offset, entry.LeaderEpoch, metadata, now, expire, ++_offsetSequence);
            records.Add(GroupLog.OffsetRecord(args.GroupId, entry.Partition, value, entry.TopicId));
            applied.Add((entry.Partition, value));
        }

        // Append first, apply after: a failed write must not leave an offset that is not in the log.
        var durable = TryAppendAsync(records);
        if (durable is null)
        {
            for (var i = 0; i < errors.Length; i++)
            {
                errors[i] = errors[i] == ErrorCode.None ? ErrorCode.NotCoordinator : errors[i];
            }

            return (errors, Task.CompletedTask);
        }

        foreach (var (partition, value) in applied)
        {
            group.Offsets[partition] = value;
        }

        return (errors, durable);
    }

    private static ErrorCode[] Fill(OffsetCommitArgs args, ErrorCode error) =>
        Enumerable.Repeat(error, args.Entries.Count).ToArray();

    /// <summary>Kafka's <c>ClassicGroup.validateOffsetCommit</c> (generation fencing).</summary>
    private static ErrorCode ValidateOffsetCommit(ClassicGroup group, OffsetCommitArgs args)
    {
        if (group.Is(GroupState.Dead))
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (args.GenerationId < 0 && group.Is(GroupState.Empty))
        {
            // Manual assignment / admin client: allowed while nobody is a member.
            return ErrorCode.None;
        }

        if (args.GenerationId >= 0 || args.MemberId.Length > 0 || args.GroupInstanceId is not null)
        {
            var error = ValidateMember(group, args.MemberId, args.GroupInstanceId);
            if (error != ErrorCode.None)
            {
                return error;
            }

            if (args.GenerationId != group.GenerationId)
            {
                return ErrorCode.IllegalGeneration;
            }
        }
        else if (!group.Is(GroupState.Empty))
        {
            return ErrorCode.UnknownMemberId;
        }

        // The member has the new generation but not its assignment yet: let it retry after SyncGroup.
        return group.Is(GroupState.CompletingRebalance) ? ErrorCode.RebalanceInProgress : ErrorCode.None;
    }

    // ---- OffsetFetch ----------------------------------------------------------------------------------------

    private (ErrorCode, IReadOnlyList<(TopicPartition, CommittedOffset?, ErrorCode)>) Fetch(
        string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics, bool requireStable)
    {
        _groups.TryGetValue(groupId, out var group);
        if (group is not null && group.Is(GroupState.Dead))
        {
            return (ErrorCode.GroupIdNotFound, []);
        }

        _pendingTransactionalOffsets.TryGetValue(groupId, out var pending);
        ErrorCode PartitionError(TopicPartition partition) =>
            requireStable && pending is not null && pending.ContainsKey(partition) ? ErrorCode.UnstableOffsetCommit : ErrorCode.None;

        var results = new List<(TopicPartition, CommittedOffset?, ErrorCode)>();
        if (topics is null)
        {
            if (group is not null)
            {
                foreach (var (partition, offset) in group.Offsets.OrderBy(o => o.Key.Topic, StringComparer.Ordinal).ThenBy(o => o.Key.Partition))
                {
                    var error = PartitionError(partition);
                    results.Add((partition, error == ErrorCode.None ? offset : null, error));
                }
            }

            return (ErrorCode.None, results);
        }

        foreach (var (topic, partitions) in topics)
        {
            foreach (var index in partitions)
            {
                var partition = new TopicPartition(topic, index);
                var error = PartitionError(partition);
                var offset = error == ErrorCode.None ? group?.Offsets.GetValueOrDefault(partition) : null;
                results.Add((partition, offset, error));
            }
        }

        return (ErrorCode.None, results);
    }

    // ---- DescribeGroups / DeleteGroups / OffsetDelete -------------------------------------------------------

    private GroupDescription? Describe(string groupId)
    {
        if (!_groups.TryGetValue(groupId, out var group) || group.Is(GroupState.Dead))
        {
            return null;
        }

        // Kafka reports metadata and assignments only for a Stable group (ClassicGroupMember.describe vs
        // describeNoMetadata).
        var stable = group.Is(GroupState.Stable);
        var members = group.Members.Select(m => new MemberDescription(
            m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            stable ? m.MetadataFor(group.ProtocolName ?? "") : [],
            stable ? m.Assignment : [])).ToList();
        return new GroupDescription(group.GroupId, group.State, group.ProtocolType ?? "",
            stable ? group.ProtocolName ?? "" : "", members);
    }

    private (IReadOnlyList<ErrorCode>, Task) DeleteGroups(IReadOnlyList<string> groupIds)
    {
        var errors = new ErrorCode[groupIds.Count];
        var records = new List<GroupLog.Entry>();
        var deleted = new List<ClassicGroup>();
        for (var i = 0; i < groupIds.Count; i++)
        {
            if (!_groups.TryGetValue(groupIds[i], out var group) || group.Is(GroupState.Dead) || deleted.Contains(group))
            {
                errors[i] = deleted.Any(g => g.GroupId == groupIds[i]) ? ErrorCode.None : ErrorCode.GroupIdNotFound;
                continue;
            }

            if (!group.Is(GroupState.Empty))
            {
                errors[i] = ErrorCode.NonEmptyGroup;
                continue;
            }

            // Offset tombstones first, then the group's: replay never sees offsets of a deleted group.
            foreach (var partition in group.Offsets.Keys)
            {
                records.Add(GroupLog.OffsetRecord(group.GroupId, partition, null, Guid.Empty));
            }

            records.Add(GroupLog.GroupRecord(group, tombstone: true));
            deleted.Add(group);
        }

        var durable = TryAppendAsync(records);
        if (durable is null)
        {
            return (errors.Select(e => e == ErrorCode.None ? ErrorCode.NotCoordinator : e).ToList(), Task.CompletedTask);
        }

        foreach (var group in deleted)
        {
            RemoveGroup(group);
        }

        return (errors, durable);
    }

    private void RemoveGroup(ClassicGroup group)
    {
        group.TransitionTo(GroupState.Dead, NowMs);
        _groups.Remove(group.GroupId);
        DropPendingTransactionalOffsets(group.GroupId);
        Cancel(new TimerKey(TimerKind.Join, group.GroupId, ""));
        Cancel(new TimerKey(TimerKind.Sync, group.GroupId, ""));
    }

    private (ErrorCode, IReadOnlyList<ErrorCode>, Task) DeleteOffsets(string groupId, IReadOnlyList<TopicPartition> partitions)
    {
        if (!_groups.TryGetValue(groupId, out var group) || group.Is(GroupState.Dead))
        {
            return (ErrorCode.GroupIdNotFound, [], Task.CompletedTask);
        }

        // Kafka's ClassicGroup.validateOffsetDelete: a live group may delete offsets only if it uses the consumer
        // protocol, so the coordinator knows which topics it consumes.
        if (!group.Is(GroupState.Empty) && group.ProtocolType != "consumer")
        {
            return (ErrorCode.NonEmptyGroup, [], Task.CompletedTask);
        }

        var errors = new ErrorCode[partitions.Count];
        var records = new List<GroupLog.Entry>();
        var removed = new List<TopicPartition>();
        for (var i = 0; i < partitions.Count; i++)
        {
            var partition = partitions[i];
            if (group.IsSubscribedTo(partition.Topic))
            {
                errors[i] = ErrorCode.GroupSubscribedToTopic;
            }
            else if (group.Offsets.ContainsKey(partition) && !removed.Contains(partition))
            {
                records.Add(GroupLog.OffsetRecord(groupId, partition, null, Guid.Empty));
                removed.Add(partition);
            }
        }

        var durable = TryAppendAsync(records);
        if (durable is null)
        {
            return (ErrorCode.NotCoordinator, [], Task.CompletedTask);
        }

        foreach (var partition in removed)
        {
            group.Offsets.Remove(partition);
        }

        return (ErrorCode.None, errors, durable);
    }

    // ---- offset expiry (offsets.retention.minutes) ----------------------------------------------------------

    /// <summary>
    /// Kafka's <c>cleanupGroupMetadata</c>: expires offsets per <c>ClassicGroup.offsetExpirationCondition</c> and
    /// deletes groups left Empty without offsets.
    /// </summary>
    private void ExpireOffsets()
    {
        var now = NowMs;
        var retention = Config.OffsetsRetentionMs;
        var records = new List<GroupLog.Entry>();
        var expired = new List<(ClassicGroup Group, TopicPartition Partition)>();
        var emptied = new List<ClassicGroup>();
        foreach (var group in _groups.Values)
        {
            Func<CommittedOffset, long>? baseTimestamp = null;
            HashSet<string>? subscribed = null;
            if (group.ProtocolType is null)
            {
                baseTimestamp = o => o.CommitTimestampMs;
            }
            else if (group.Is(GroupState.Empty))
            {
                baseTimestamp = _ => group.CurrentStateTimestampMs;
            }
            else if (group.Is(GroupState.Stable) && (subscribed = group.SubscribedTopics()) is not null)
            {
                baseTimestamp = o => o.CommitTimestampMs;
            }

            var remaining = group.Offsets.Count;
            if (baseTimestamp is not null)
            {
                _pendingTransactionalOffsets.TryGetValue(group.GroupId, out var pending);
                foreach (var (partition, offset) in group.Offsets)
                {
                    if (subscribed is not null && subscribed.Contains(partition.Topic))
                    {
                        continue;
                    }

                    if (pending is not null && pending.ContainsKey(partition))
                    {
                        continue;
                    }

                    var isExpired = offset.ExpireTimestampMs >= 0
                        ? now >= offset.ExpireTimestampMs
                        : now - baseTimestamp(offset) >= retention;
                    if (isExpired)
                    {
                        records.Add(GroupLog.OffsetRecord(group.GroupId, partition, null, Guid.Empty));
                        expired.Add((group, partition));
                        remaining--;
                    }
                }
            }

            if (group.Is(GroupState.Empty) && remaining == 0 && group.PendingMembers.Count == 0
                && !_pendingTransactionalOffsets.ContainsKey(group.GroupId))
            {
                records.Add(GroupLog.GroupRecord(group, tombstone: true));
                emptied.Add(group);
            }
        }

        if (records.Count == 0 || TryAppendAsync(records) is null)
        {
            return;
        }

        foreach (var (group, partition) in expired)
        {
            group.Offsets.Remove(partition);
        }

        foreach (var group in emptied)
        {
            RemoveGroup(group);
        }

        LogOffsetsExpired(expired.Count, emptied.Count);
    }
}
