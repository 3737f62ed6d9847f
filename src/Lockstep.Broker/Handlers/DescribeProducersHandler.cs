// DescribeProducers (key 61) — version 0 (KIP-664; the only version).
//
// Behaviour:
// - Per requested partition: the producers with state on it (Partition.ActiveProducers, i.e. the partition's
//   ProducerStateManager entries, as Kafka's ReplicaManager.activeProducerState reports them): ProducerId,
//   ProducerEpoch, LastSequence (-1 when no batch of the current epoch is cached), LastTimestamp,
//   CoordinatorEpoch (-1 before any marker) and CurrentTxnStartOffset (first offset of the open transaction, -1
//   when none) — what `kafka-transactions.sh describe-producers` and hanging-transaction detection read.
// - Unknown topic or partition → UNKNOWN_TOPIC_OR_PARTITION for that partition (Kafka answers per partition).
// - No authorization yet (Kafka requires READ on the topic; the authorizer comes later).
// Version notes: v0 is flexible.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Reports the producer state of partitions (admin tooling, hanging-transaction detection).</summary>
internal sealed class DescribeProducersHandler(BrokerCore core) : ApiHandler<DescribeProducersRequest, DescribeProducersResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 0;

    /// <inheritdoc />
    protected override ValueTask<DescribeProducersResponse?> HandleAsync(
        RequestContext context, DescribeProducersRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeProducersResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (var index in topic.PartitionIndexes)
            {
                var partitionResponse = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(partitionResponse);
                if (!core.Topics.TryGetPartition(topic.Name, index, out var partition))
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    partitionResponse.ErrorMessage = $"Partition {topic.Name}-{index} does not exist.";
                    continue;
                }

                foreach (var producer in partition.ActiveProducers())
                {
                    partitionResponse.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = producer.ProducerId,
                        ProducerEpoch = producer.ProducerEpoch,
                        LastSequence = producer.LastSequence,
                        LastTimestamp = producer.LastTimestamp,
                        CoordinatorEpoch = producer.CoordinatorEpoch,
                        CurrentTxnStartOffset = producer.CurrentTxnStartOffset,
                    });
                }
            }
        }

        return ValueTask.FromResult<DescribeProducersResponse?>(response);
    }
}
