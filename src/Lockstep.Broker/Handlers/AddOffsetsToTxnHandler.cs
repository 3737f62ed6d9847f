// AddOffsetsToTxn (key 25) — versions 0-4.
//
// Behaviour:
// - WRITE on the transactional id (authorization hook) else TRANSACTIONAL_ID_AUTHORIZATION_FAILED (Kafka also checks
//   READ on the group: no group ACLs exist yet).
// - Adds the group's offsets partition (__consumer_offsets-0: Lockstep's single offsets partition) to the
//   transaction, exactly like AddPartitionsToTxn with client transaction version 0 (KafkaApis passes TV_0: this
//   request only comes from clients not using TV2, which send TxnOffsetCommit v5 instead). When the transaction
//   completes, the marker for that partition applies or drops the group's transactional offsets.
// Version notes: v2 PRODUCER_FENCED (older: INVALID_PRODUCER_EPOCH); v3 flexible; v4 TRANSACTION_ABORTABLE.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Adds a consumer group's offsets partition to a transaction.</summary>
internal sealed class AddOffsetsToTxnHandler(TransactionCoordinator coordinator) : ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>
{
    /// <summary>The group coordinator keeps every group in partition 0 of its log (single node).</summary>
    private static readonly TopicPartition OffsetsPartition = new(PartitionMarkerWriter.OffsetsTopicName, 0);

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 4;

    /// <inheritdoc />
    protected override async ValueTask<AddOffsetsToTxnResponse?> HandleAsync(
        RequestContext context, AddOffsetsToTxnRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (!coordinator.Authorizer.Authorize(TransactionalIdOperation.Write, request.TransactionalId))
        {
            return ToResponse(ErrorCode.TransactionalIdAuthorizationFailed, version);
        }

        var error = await coordinator.AddPartitionsAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
            [OffsetsPartition], clientTransactionVersion: 0, cancellationToken).ConfigureAwait(false);
        return ToResponse(error, version);
    }

    private static AddOffsetsToTxnResponse ToResponse(ErrorCode error, short version) => new()
    {
        ErrorCode = (short)TransactionErrorVersions.ForVersion(error, version, producerFencedFrom: 2, transactionAbortableFrom: 4),
    };
}
