// OffsetCommit (key 8) — versions 2-9.
//
// Behaviour (KafkaApis.handleOffsetCommitRequest + OffsetMetadataManager.commitOffset):
// - Partitions of unknown topics or out-of-range partition indexes get UNKNOWN_TOPIC_OR_PARTITION (Kafka 4.x checks
//   the metadata before the coordinator); the rest go to the group coordinator.
// - Generation fencing: ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID; REBALANCE_IN_PROGRESS while the
//   group is CompletingRebalance; generation -1 without member id is accepted only while the group is Empty (simple
//   consumers, admin client); OFFSET_METADATA_TOO_LARGE above 4096 characters.
// - The response is sent only after the commit is durable in __consumer_offsets.
// Version notes: v2-4 RetentionTimeMs (explicit expiry, -1 = broker default); v6+ CommittedLeaderEpoch; v7+
// GroupInstanceId; v8 flexible; v9 answers GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION for a missing group
// committed with a generation >= 0 (KIP-848 compatible); v10 topic ids are not advertised. Old versions (v0-1) were
// removed by KIP-896.
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps OffsetCommit to <see cref="GroupCoordinator.CommitOffsetsAsync"/>.</summary>
internal sealed class OffsetCommitHandler(GroupCoordinator coordinator, TopicManager topics)
    : ApiHandler<OffsetCommitRequest, OffsetCommitResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 2;

    /// <inheritdoc />
    public override short MaxVersion => 9;

    /// <inheritdoc />
    protected override async ValueTask<OffsetCommitResponse?> HandleAsync(
        RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new OffsetCommitResponse();

        // Response slots in request order; those of valid partitions are filled from the coordinator's answer.
        var slots = new List<OffsetCommitResponse.OffsetCommitResponsePartition>();
        var entries = new List<OffsetCommitEntry>();
        foreach (var topic in request.Topics)
        {
            var responseTopic = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = topic.Name };
            response.Topics.Add(responseTopic);
            topics.TryGetTopic(topic.Name, out var info);
            foreach (var partition in topic.Partitions)
            {
                var slot = new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = partition.PartitionIndex };
                responseTopic.Partitions.Add(slot);
                if (info is null || !topics.TryGetPartition(topic.Name, partition.PartitionIndex, out _))
                {
                    slot.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                slots.Add(slot);
                entries.Add(new OffsetCommitEntry(
                    new TopicPartition(topic.Name, partition.PartitionIndex),
                    info.TopicId,
                    partition.CommittedOffset,
                    version >= 6 ? partition.CommittedLeaderEpoch : -1,
                    partition.CommittedMetadata));
            }
        }

        if (entries.Count == 0)
        {
            return response;
        }

        var args = new OffsetCommitArgs(
            request.GroupId,
            request.GenerationIdOrMemberEpoch,
            request.MemberId,
            version >= 7 ? request.GroupInstanceId : null,
            version <= 4 ? request.RetentionTimeMs : -1,
            UsesGroupIdNotFound: version >= 9,
            entries);
        var pending = coordinator.CommitOffsetsAsync(args);
        var errors = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < slots.Count; i++)
        {
            slots[i].ErrorCode = (short)errors[i];
        }

        return response;
    }
}
