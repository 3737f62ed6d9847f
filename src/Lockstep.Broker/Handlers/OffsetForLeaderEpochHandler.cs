// OffsetForLeaderEpoch (key 23) — versions 2-4.
//
// Behaviour:
// - A single node has had one leader epoch, 0, for the whole log (Partition.LeaderEpoch; appended batches carry
//   it). The end offset of epoch 0 is therefore the log end offset, as Kafka's LeaderEpochFileCache.endOffsetFor
//   answers for the latest epoch. Any other requested epoch has no entry: EndOffset -1 and LeaderEpoch -1
//   (UNDEFINED_EPOCH_OFFSET / UNDEFINED_EPOCH), which tells the client it cannot validate and must reset.
// - CurrentLeaderEpoch above 0 → UNKNOWN_LEADER_EPOCH; below (not -1) → FENCED_LEADER_EPOCH. Unknown partition →
//   UNKNOWN_TOPIC_OR_PARTITION.
// - librdkafka sends v2 as soon as Metadata shows an epoch >= 0 (client-compat.md trap 8); Java needs v3+.
// Version notes: v3 ReplicaId (ignored: no followers); v4 flexible.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Answers the end offset of a leader epoch, for clients' log-truncation checks.</summary>
internal sealed class OffsetForLeaderEpochHandler(BrokerCore core)
    : ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 2;

    /// <inheritdoc />
    public override short MaxVersion => 4;

    /// <inheritdoc />
    protected override ValueTask<OffsetForLeaderEpochResponse?> HandleAsync(
        RequestContext context, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetForLeaderEpochResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(topicResult);
            foreach (var p in topic.Partitions)
            {
                var result = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition };
                topicResult.Partitions.Add(result);
                if (!core.Topics.TryGetPartition(topic.Topic, p.Partition, out var partition))
                {
                    result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                }
                else if (p.CurrentLeaderEpoch != -1 && p.CurrentLeaderEpoch != Partition.LeaderEpoch)
                {
                    result.ErrorCode = (short)(p.CurrentLeaderEpoch > Partition.LeaderEpoch
                        ? ErrorCode.UnknownLeaderEpoch
                        : ErrorCode.FencedLeaderEpoch);
                }
                else if (p.LeaderEpoch == Partition.LeaderEpoch)
                {
                    result.LeaderEpoch = Partition.LeaderEpoch;
                    result.EndOffset = partition.Log.LogEndOffset;
                }
            }
        }

        return ValueTask.FromResult<OffsetForLeaderEpochResponse?>(response);
    }
}
