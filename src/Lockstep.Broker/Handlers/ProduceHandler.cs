// Produce (key 0) — versions 3-12.
//
// Behaviour:
// - Acks must be 0, 1 or -1, else every partition gets INVALID_REQUIRED_ACKS (ReplicaManager.isValidRequiredAcks).
// - Per partition: unknown topic/partition → UNKNOWN_TOPIC_OR_PARTITION. Like Apache Kafka (KRaft and ZooKeeper
//   alike), Produce never auto-creates a topic: clients send Metadata first, which does.
// - RECORDS must be exactly one magic-2 batch (ProduceValidation): several batches, a non-zero base offset,
//   control batches or inconsistent counts → INVALID_RECORD; a batch above the topic's max.message.bytes →
//   MESSAGE_TOO_LARGE; bad CRC or unparsable records → CORRUPT_MESSAGE; zstd below v7 → UNSUPPORTED_COMPRESSION_TYPE;
//   above segment.bytes → RECORD_LIST_TOO_LARGE; a failed write → KAFKA_STORAGE_ERROR.
// - Idempotent batches are checked against the partition's producer state under the partition's append lock
//   (Partition.Append): a duplicate returns the original BaseOffset without appending; gaps are
//   OUT_OF_ORDER_SEQUENCE_NUMBER; older epochs INVALID_PRODUCER_EPOCH.
// - Transactional batches (kip939-spec.md §8.2-8.3): need a TransactionalId (else
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as KafkaApis). When the producer has no open transaction with that epoch
//   on the partition, the coordinator verifies it in-process (ITransactionVerifier; v≤11 verify only, v12 adds the
//   partition — TV2 implicit add) under the partition's append lock, immediately followed by the append (see
//   Partition's remarks for why that rules out the stale-verification ABA). Coordinator errors are translated per
//   version (TransactionErrors): NETWORK_EXCEPTION/COORDINATOR_*/NOT_COORDINATOR → NOT_ENOUGH_REPLICAS,
//   CONCURRENT_TRANSACTIONS → NOT_ENOUGH_REPLICAS below v12, PRODUCER_FENCED → INVALID_PRODUCER_EPOCH,
//   TRANSACTION_ABORTABLE → INVALID_TXN_STATE below v11. Without a coordinator: INVALID_TXN_STATE. The response
//   also waits for the coordinator's own durable change (TV2 add). A non-transactional batch of a producer with
//   an open transaction is INVALID_TXN_STATE. Kafka retries CONCURRENT_TRANSACTIONS internally for TV2; we return
//   it (the client retries) — markers are written before EndTxn answers, so it is rare on one node.
// - Every append happens synchronously (IApiHandler ordering contract); only the durability wait is awaited.
//   acks=1/-1 answer after the batch is durable (in fsync mode: after the group-commit fsync). acks=0 returns
//   null: no response frame at all (Kafka closes the connection on an acks=0 error; we only log it).
// - TimeoutMs is not applied: a single node has no replicas to wait for, and the fsync wait is bounded by the disk.
// Version notes: v5+ LogStartOffset; v8+ RecordErrors/ErrorMessage; v9 flexible; v10 CurrentLeader/NodeEndpoints
// (tagged; only for NOT_LEADER errors, never sent by a single node); v11 may return TRANSACTION_ABORTABLE; v12 is
// v11 plus the TV2 implicit add-partition. v13 (topic ids) is not advertised yet.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Partitions;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Appends produced batches and acknowledges them once durable.</summary>
internal sealed class ProduceHandler(BrokerCore core) : ApiHandler<ProduceRequest, ProduceResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 3;

    /// <inheritdoc />
    public override short MaxVersion => 12;

    /// <inheritdoc />
    protected override ValueTask<ProduceResponse?> HandleAsync(
        RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
    {
        var response = new ProduceResponse();
        var validAcks = request.Acks is 0 or 1 or -1;
        List<(ProduceResponse.PartitionProduceResponse Response, Partition Partition, long LastOffset, Task? CoordinatorDurable)>? pending = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name, TopicId = topicData.TopicId };
            response.Responses.Add(topicResponse);
            core.Topics.TryGetTopic(topicData.Name, out var topic);
            var maxMessageBytes = topic is null ? 0 : TopicInt(topic, "max.message.bytes");
            var logAppendTime = topic is not null
                && TopicConfigs.Effective("message.timestamp.type", topic.Configs, core.Config).Value == "LogAppendTime";
            foreach (var partitionData in topicData.PartitionData)
            {
                var partitionResponse = new ProduceResponse.PartitionProduceResponse { Index = partitionData.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(partitionResponse);
                if (!validAcks)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.InvalidRequiredAcks;
                    continue;
                }

                if (topic is null || partitionData.Index < 0 || partitionData.Index >= topic.Partitions.Count)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                var partition = topic.Partitions[partitionData.Index];
                var records = partitionData.Records ?? ReadOnlyMemory<byte>.Empty;
                var validation = ProduceValidation.Validate(records.Span, maxMessageBytes, context.ApiVersion, core.Codecs);
                if (validation.Error != ErrorCode.None)
                {
                    Fail(partitionResponse, validation.Error, validation.Message, context.ApiVersion);
                    continue;
                }

                // The request memory is only valid until this method returns: Partition.Append copies it.
                var result = partition.Append(records.Span, validation.Header, logAppendTime, request.TransactionalId,
                    context.ApiVersion);
                if (result.Error != ErrorCode.None)
                {
                    Fail(partitionResponse, result.Error, result.Message, context.ApiVersion);
                    continue;
                }

                partitionResponse.BaseOffset = result.BaseOffset;
                partitionResponse.LogAppendTimeMs = result.LogAppendTimeMs;
                partitionResponse.LogStartOffset = result.LogStartOffset;
                (pending ??= []).Add((partitionResponse, partition, result.LastOffset, result.CoordinatorDurable));
            }
        }

        if (request.Acks == 0)
        {
            // No response frame for acks=0 (Kafka's KafkaApis.handleProduceRequest sends none).
            return ValueTask.FromResult<ProduceResponse?>(null);
        }

        if (pending is null)
        {
            return ValueTask.FromResult<ProduceResponse?>(response);
        }

        var waits = new Task[pending.Count];
        var allDone = true;
        for (var i = 0; i < pending.Count; i++)
        {
            waits[i] = WaitDurableAsync(pending[i].Partition, pending[i].LastOffset, cancellationToken);
            if (pending[i].CoordinatorDurable is { } coordinator)
            {
                waits[i] = Task.WhenAll(waits[i], coordinator);
            }

            allDone &= waits[i].IsCompletedSuccessfully;
        }

        return allDone ? ValueTask.FromResult<ProduceResponse?>(response) : AwaitDurableAsync(response, pending, waits, context.ApiVersion);
    }

    private static async ValueTask<ProduceResponse?> AwaitDurableAsync(
        ProduceResponse response,
        List<(ProduceResponse.PartitionProduceResponse Response, Partition Partition, long LastOffset, Task? CoordinatorDurable)> pending,
        Task[] waits,
        short version)
    {
        for (var i = 0; i < waits.Length; i++)
        {
            try
            {
                await waits[i].ConfigureAwait(false);
            }
            catch (Exception e) when (pending[i].CoordinatorDurable is { IsFaulted: true })
            {
                // The batch is in the log but the coordinator could not persist the partition's addition: the
                // producer must not count on it. Retriable, like the verification errors (NOT_ENOUGH_REPLICAS).
                Fail(pending[i].Response, ErrorCode.NotEnoughReplicas, e.Message, version);
            }
            catch (IOException e)
            {
                // The fsync failed: the log is offline and the batch may be lost (Kafka: KAFKA_STORAGE_ERROR).
                Fail(pending[i].Response, ErrorCode.KafkaStorageError, e.Message, version);
            }
            catch (ObjectDisposedException e)
            {
                Fail(pending[i].Response, ErrorCode.NotLeaderOrFollower, e.Message, version);
            }
        }

        return response;
    }

    private static Task WaitDurableAsync(Partition partition, long lastOffset, CancellationToken cancellationToken)
    {
        try
        {
            return partition.Log.WaitForDurableAsync(lastOffset, cancellationToken);
        }
        catch (ObjectDisposedException e)
        {
            return Task.FromException(e);
        }
        catch (ArgumentOutOfRangeException)
        {
            // Truncated below the batch since the append (repair tools only): nothing left to wait for.
            return Task.CompletedTask;
        }
    }

    private static void Fail(ProduceResponse.PartitionProduceResponse response, ErrorCode error, string? message, short version)
    {
        response.ErrorCode = (short)error;
        response.BaseOffset = -1;
        response.LogAppendTimeMs = -1;
        response.LogStartOffset = -1;
        if (version >= 8)
        {
            response.ErrorMessage = message;
        }
    }

    private int TopicInt(TopicInfo topic, string name) =>
        (int)Math.Min(int.MaxValue, long.Parse(TopicConfigs.Effective(name, topic.Configs, core.Config).Value, CultureInfo.InvariantCulture));
}
