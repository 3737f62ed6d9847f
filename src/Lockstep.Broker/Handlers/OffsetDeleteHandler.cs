// OffsetDelete (key 47) — version 0.
//
// Behaviour (KafkaApis.handleOffsetDeleteRequest, OffsetMetadataManager.deleteOffsets):
// - Deletes committed offsets of a group (tombstones, answered once durable). Partitions of unknown topics get
//   UNKNOWN_TOPIC_OR_PARTITION.
// - Top-level GROUP_ID_NOT_FOUND for an unknown group; NON_EMPTY_GROUP for a live group that does not use the consumer
//   protocol; per partition GROUP_SUBSCRIBED_TO_TOPIC while a member of the group subscribes to the topic.
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

/// <summary>Maps OffsetDelete to <see cref="GroupCoordinator.DeleteOffsetsAsync"/>.</summary>
internal sealed class OffsetDeleteHandler(GroupCoordinator coordinator, TopicManager topics)
    : ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 0;

    /// <inheritdoc />
    protected override async ValueTask<OffsetDeleteResponse?> HandleAsync(
        RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetDeleteResponse();
        var slots = new List<OffsetDeleteResponse.OffsetDeleteResponsePartition>();
        var partitions = new List<TopicPartition>();
        foreach (var topic in request.Topics)
        {
            var responseTopic = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = topic.Name };
            response.Topics.Add(responseTopic);
            foreach (var partition in topic.Partitions)
            {
                var slot = new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = partition.PartitionIndex };
                responseTopic.Partitions.Add(slot);
                if (!topics.TryGetPartition(topic.Name, partition.PartitionIndex, out _))
                {
                    slot.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                slots.Add(slot);
                partitions.Add(new TopicPartition(topic.Name, partition.PartitionIndex));
            }
        }

        var pending = coordinator.DeleteOffsetsAsync(request.GroupId, partitions);
        var (error, errors) = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new OffsetDeleteResponse { ErrorCode = (short)error };
        }

        for (var i = 0; i < slots.Count; i++)
        {
            slots[i].ErrorCode = (short)errors[i];
        }

        return response;
    }
}
