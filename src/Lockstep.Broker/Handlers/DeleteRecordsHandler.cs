// DeleteRecords (key 21) — versions 0-2.
//
// Behaviour:
// - Per partition: advances the log start offset to Offset (-1 = the high watermark), persisted durably before the
//   answer (PartitionLog.DeleteRecordsBefore), and answers the new LowWatermark. Segments wholly below it are
//   deleted. Fetches below the new start then get OFFSET_OUT_OF_RANGE.
// - Offset above the high watermark or negative (other than -1) → OFFSET_OUT_OF_RANGE; unknown topic/partition →
//   UNKNOWN_TOPIC_OR_PARTITION; LowWatermark is -1 on errors (DeleteRecordsResponse.INVALID_LOW_WATERMARK).
// - TimeoutMs is not needed: there are no followers to wait for.
// Version notes: v2 flexible.
using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Moves partitions' log start offsets forward.</summary>
internal sealed class DeleteRecordsHandler(BrokerCore core) : ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 2;

    /// <inheritdoc />
    protected override ValueTask<DeleteRecordsResponse?> HandleAsync(
        RequestContext context, DeleteRecordsRequest request, CancellationToken cancellationToken)
    {
        var response = new DeleteRecordsResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(topicResult);
            foreach (var p in topic.Partitions)
            {
                var result = new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = p.PartitionIndex, LowWatermark = -1 };
                topicResult.Partitions.Add(result);
                if (!core.Topics.TryGetPartition(topic.Name, p.PartitionIndex, out var partition))
                {
                    result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                try
                {
                    result.LowWatermark = partition.Log.DeleteRecordsBefore(p.Offset);
                    // Waiting fetches below the new start must answer OFFSET_OUT_OF_RANGE now.
                    partition.NotifyReadersOfChange();
                }
                catch (OffsetOutOfRangeException)
                {
                    result.ErrorCode = (short)ErrorCode.OffsetOutOfRange;
                }
                catch (IOException)
                {
                    result.ErrorCode = (short)ErrorCode.KafkaStorageError;
                }
                catch (ObjectDisposedException)
                {
                    result.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                }
            }
        }

        return ValueTask.FromResult<DeleteRecordsResponse?>(response);
    }
}
