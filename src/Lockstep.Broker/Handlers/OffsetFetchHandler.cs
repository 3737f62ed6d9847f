// OffsetFetch (key 9) — versions 1-9.
//
// Behaviour (OffsetMetadataManager.fetchOffsets / fetchAllOffsets):
// - Committed offset, leader epoch and metadata per partition; -1 / -1 / "" when nothing is committed (also for
//   unknown groups, which are not an error).
// - Topics null (v2+) = every committed partition of the group.
// - RequireStable (v7+): UNSTABLE_OFFSET_COMMIT for a partition with a pending transactional offset commit
//   (TxnOffsetCommit whose transaction has not completed); Java consumers always send RequireStable and retry.
// - Only durable commits are reported (the answer waits for the internal log's fsync).
// Version notes: v1 has no top-level error (group errors go to every partition, Kafka's OffsetFetchResponse.groupError);
// v2+ top-level ErrorCode and nullable Topics; v5+ leader epoch; v7+ RequireStable; v8+ batched Groups (shape
// change: the single-group fields are unused); v9+ MemberId/MemberEpoch (KIP-848, ignored for classic groups).
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps OffsetFetch to <see cref="GroupCoordinator.FetchOffsetsAsync"/>.</summary>
internal sealed class OffsetFetchHandler(GroupCoordinator coordinator) : ApiHandler<OffsetFetchRequest, OffsetFetchResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 1;

    /// <inheritdoc />
    public override short MaxVersion => 9;

    /// <inheritdoc />
    protected override async ValueTask<OffsetFetchResponse?> HandleAsync(
        RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var requireStable = version >= 7 && request.RequireStable;
        var response = new OffsetFetchResponse();
        if (version >= 8)
        {
            // Enqueue every group before awaiting any (ordering contract), then collect.
            var pending = request.Groups.Select(g => coordinator.FetchOffsetsAsync(
                g.GroupId,
                g.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList(),
                requireStable)).ToList();
            for (var i = 0; i < pending.Count; i++)
            {
                var (error, partitions) = await pending[i].WaitAsync(cancellationToken).ConfigureAwait(false);
                var group = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = request.Groups[i].GroupId, ErrorCode = (short)error };
                foreach (var byTopic in partitions.GroupBy(p => p.Partition.Topic))
                {
                    var topic = new OffsetFetchResponse.OffsetFetchResponseTopics { Name = byTopic.Key };
                    foreach (var (partition, offset, partitionError) in byTopic)
                    {
                        topic.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = partition.Partition,
                            CommittedOffset = offset?.Offset ?? -1,
                            CommittedLeaderEpoch = offset?.LeaderEpoch ?? -1,
                            Metadata = offset?.Metadata ?? "",
                            ErrorCode = (short)partitionError,
                        });
                    }

                    group.Topics.Add(topic);
                }

                response.Groups.Add(group);
            }

            return response;
        }

        var topics = request.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
        var single = coordinator.FetchOffsetsAsync(request.GroupId, topics, requireStable);
        var (groupError, results) = await single.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (groupError != ErrorCode.None && version < 2)
        {
            // v1 cannot carry a top-level error: report it on every requested partition.
            results = (topics ?? [])
                .SelectMany(t => t.Item2.Select(p => (new Storage.TopicPartition(t.Name, p), (CommittedOffset?)null, groupError)))
                .ToList();
        }

        response.ErrorCode = version >= 2 ? (short)groupError : (short)0;
        foreach (var byTopic in results.GroupBy(p => p.Partition.Topic))
        {
            var topic = new OffsetFetchResponse.OffsetFetchResponseTopic { Name = byTopic.Key };
            foreach (var (partition, offset, partitionError) in byTopic)
            {
                topic.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = partition.Partition,
                    CommittedOffset = offset?.Offset ?? -1,
                    CommittedLeaderEpoch = offset?.LeaderEpoch ?? -1,
                    Metadata = offset?.Metadata ?? "",
                    ErrorCode = (short)partitionError,
                });
            }

            response.Topics.Add(topic);
        }

        return response;
    }
}
