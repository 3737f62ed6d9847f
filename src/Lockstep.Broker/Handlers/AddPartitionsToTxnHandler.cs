// AddPartitionsToTxn (key 24) — versions 0-5.
//
// Behaviour:
// - v0-3 (clients): one transaction in the V3AndBelow* fields. WRITE on the transactional id (authorization hook)
//   else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition. A partition this broker does not host →
//   UNKNOWN_TOPIC_OR_PARTITION, and then the others get OPERATION_NOT_ATTEMPTED and nothing is added
//   (KafkaApis.handleAddPartitionsToTxnRequest). Otherwise the coordinator adds them (kip939-spec.md §7.5) and
//   every partition carries its answer once the record is durable.
// - v4-5 (broker-to-broker in Kafka; Lockstep's partitions verify in process): a batch of transactions, each with
//   VerifyOnly (report per partition whether it is in the transaction: NONE or TRANSACTION_ABORTABLE) or an add
//   with client transaction version 2. Results in ResultsByTransaction. Kafka requires CLUSTER_ACTION here; with
//   no ACLs yet it is allowed.
// Version notes: v2 PRODUCER_FENCED (older: INVALID_PRODUCER_EPOCH); v3 flexible; v4 batched form with top-level
// ErrorCode; v5 TRANSACTION_ABORTABLE (older: INVALID_TXN_STATE).
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Adds partitions to a transaction (or verifies them, v4+).</summary>
internal sealed class AddPartitionsToTxnHandler(TransactionCoordinator coordinator, TopicManager topics)
    : ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>
{
    private const short FirstBatchedVersion = 4;

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<AddPartitionsToTxnResponse?> HandleAsync(
        RequestContext context, AddPartitionsToTxnRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (version < FirstBatchedVersion)
        {
            var single = await HandleOneAsync(version, request.V3AndBelowTransactionalId, request.V3AndBelowProducerId,
                request.V3AndBelowProducerEpoch, request.V3AndBelowTopics, verifyOnly: false, clientTransactionVersion: 0)
                .ConfigureAwait(false);
            return new AddPartitionsToTxnResponse { ResultsByTopicV3AndBelow = single.TopicResults };
        }

        // Every transaction is decided (and its record appended) before the first await, in request order.
        var pending = request.Transactions
            .Select(t => HandleOneAsync(version, t.TransactionalId, t.ProducerId, t.ProducerEpoch, t.Topics, t.VerifyOnly,
                clientTransactionVersion: 2))
            .ToList();
        var response = new AddPartitionsToTxnResponse();
        foreach (var result in pending)
        {
            response.ResultsByTransaction.Add(await result.ConfigureAwait(false));
        }

        return response;
    }

    private async ValueTask<AddPartitionsToTxnResponse.AddPartitionsToTxnResult> HandleOneAsync(short version, string transactionalId,
        long producerId, short producerEpoch, List<AddPartitionsToTxnRequest.AddPartitionsToTxnTopic> requested, bool verifyOnly,
        short clientTransactionVersion)
    {
        var partitions = requested
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Name, p)))
            .Distinct()
            .ToList();
        if (version < FirstBatchedVersion && !coordinator.Authorizer.Authorize(TransactionalIdOperation.Write, transactionalId))
        {
            return Uniform(transactionalId, partitions, ErrorCode.TransactionalIdAuthorizationFailed, version);
        }

        var unknown = partitions.Where(p => !topics.TryGetPartition(p.Topic, p.Partition, out _)).ToHashSet();
        if (unknown.Count > 0)
        {
            return Result(transactionalId, partitions,
                p => unknown.Contains(p) ? ErrorCode.UnknownTopicOrPartition : ErrorCode.OperationNotAttempted, version);
        }

        if (verifyOnly)
        {
            // Verification never writes; each partition gets its own verdict (Kafka's handleVerifyPartitionsInTransaction).
            return Result(transactionalId, partitions,
                p => coordinator.Verify(transactionalId, producerId, producerEpoch, p, addPartition: false).Error, version);
        }

        var error = await coordinator.AddPartitionsAsync(transactionalId, producerId, producerEpoch, partitions,
            clientTransactionVersion).ConfigureAwait(false);
        return Uniform(transactionalId, partitions, error, version);
    }

    private static AddPartitionsToTxnResponse.AddPartitionsToTxnResult Uniform(
        string transactionalId, List<TopicPartition> partitions, ErrorCode error, short version) =>
        Result(transactionalId, partitions, _ => error, version);

    private static AddPartitionsToTxnResponse.AddPartitionsToTxnResult Result(
        string transactionalId, List<TopicPartition> partitions, System.Func<TopicPartition, ErrorCode> errorFor, short version)
    {
        var result = new AddPartitionsToTxnResponse.AddPartitionsToTxnResult { TransactionalId = transactionalId };
        foreach (var topic in partitions.GroupBy(p => p.Topic, System.StringComparer.Ordinal))
        {
            result.TopicResults.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
            {
                Name = topic.Key,
                ResultsByPartition = topic.Select(p => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
                {
                    PartitionIndex = p.Partition,
                    PartitionErrorCode = (short)TransactionErrorVersions.ForVersion(errorFor(p), version,
                        producerFencedFrom: 2, transactionAbortableFrom: 5),
                }).ToList(),
            });
        }

        return result;
    }
}
