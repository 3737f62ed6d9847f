// Metadata (key 3) — versions 0-12.
//
// Behaviour:
// - Brokers: this node only (advertised host/port, rack null); ControllerId = this node; ClusterId from
//   meta.properties.
// - Topics: all topics when Topics is null (v1+) or empty at v0 (v0 had no null, "empty" meant all); otherwise the
//   requested ones. An unknown topic is auto-created when AllowAutoTopicCreation (always true below v4) and
//   auto.create.topics.enable are both set (Kafka's AutoTopicCreationManager); then an illegal name is
//   INVALID_TOPIC_EXCEPTION. Without auto-creation an unknown topic is UNKNOWN_TOPIC_OR_PARTITION. Listing all
//   topics never creates one. Kafka creates topics asynchronously and answers LEADER_NOT_AVAILABLE first; we
//   create synchronously and return the partitions at once, which every client accepts.
// - v10+: topic ids in the response; v12+ requests may name a topic by id only (Name null): unknown ids are
//   UNKNOWN_TOPIC_ID. Lookup by id never auto-creates.
// - Partitions: leader = this node, leader epoch 0 (Partition.LeaderEpoch), replicas = isr = [this node].
// - Authorized-operations fields keep Kafka's "not requested" default (int.MinValue); there are no ACLs.
// Version notes: v13 (top-level error for KIP-1102 rebootstrap) is not advertised.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Describes the (single-node) cluster and its topics, auto-creating topics on request.</summary>
internal sealed class MetadataHandler(BrokerCore core) : ApiHandler<MetadataRequest, MetadataResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 12;

    /// <inheritdoc />
    protected override ValueTask<MetadataResponse?> HandleAsync(
        RequestContext context, MetadataRequest request, CancellationToken cancellationToken)
    {
        var nodeId = core.Config.NodeId;
        var response = new MetadataResponse
        {
            ClusterId = core.ClusterId,
            ControllerId = nodeId,
        };
        response.Brokers.Add(new MetadataResponse.MetadataResponseBroker
        {
            NodeId = nodeId,
            Host = core.AdvertisedHost,
            Port = core.AdvertisedPort,
            Rack = null,
        });

        var all = request.Topics is null || (context.ApiVersion == 0 && request.Topics.Count == 0);
        if (all)
        {
            foreach (var topic in core.Topics.Topics)
            {
                response.Topics.Add(Describe(topic, nodeId));
            }

            return ValueTask.FromResult<MetadataResponse?>(response);
        }

        var autoCreate = context.ApiVersion < 4 || request.AllowAutoTopicCreation;
        foreach (var requested in request.Topics!)
        {
            if (requested.Name is null)
            {
                response.Topics.Add(core.Topics.TryGetTopic(requested.TopicId, out var byId)
                    ? Describe(byId, nodeId)
                    : new MetadataResponse.MetadataResponseTopic
                    {
                        ErrorCode = (short)ErrorCode.UnknownTopicId,
                        Name = null,
                        TopicId = requested.TopicId,
                    });
                continue;
            }

            var (topic, error) = core.Topics.GetOrAutoCreate(requested.Name, autoCreate);
            response.Topics.Add(topic is not null && error == ErrorCode.None
                ? Describe(topic, nodeId)
                : new MetadataResponse.MetadataResponseTopic { ErrorCode = (short)error, Name = requested.Name });
        }

        return ValueTask.FromResult<MetadataResponse?>(response);
    }

    private static MetadataResponse.MetadataResponseTopic Describe(TopicInfo topic, int nodeId)
    {
        var result = new MetadataResponse.MetadataResponseTopic
        {
            Name = topic.Name,
            TopicId = topic.TopicId,
            IsInternal = topic.IsInternal,
        };
        for (var i = 0; i < topic.Partitions.Count; i++)
        {
            result.Partitions.Add(new MetadataResponse.MetadataResponsePartition
            {
                PartitionIndex = i,
                LeaderId = nodeId,
                LeaderEpoch = Partition.LeaderEpoch,
                ReplicaNodes = [nodeId],
                IsrNodes = [nodeId],
                OfflineReplicas = [],
            });
        }

        return result;
    }
}
