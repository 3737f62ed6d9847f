// EndTxn (key 26) — versions 0-5.
//
// Behaviour:
// - WRITE on the transactional id (authorization hook) else TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
// - The coordinator's EndTxn (kip939-spec.md §7.6): v0-4 follow the TV0/1 table, v5 the TV2 table (epoch bump per
//   transaction; TransactionVersion.transactionVersionForEndTxn treats request version > 4 as TV2).
// - The response is sent after Prepare* is durable, every marker is durable and Complete* is durable, so the
//   client's next transaction never meets CONCURRENT_TRANSACTIONS (Kafka answers after Prepare*).
// Version notes: v2 PRODUCER_FENCED (older: INVALID_PRODUCER_EPOCH); v3 flexible; v4 TRANSACTION_ABORTABLE;
// v5 ProducerId/ProducerEpoch in the response = the id/epoch the producer uses next (−1 on error).
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Commits or aborts a transaction.</summary>
internal sealed class EndTxnHandler(TransactionCoordinator coordinator) : ApiHandler<EndTxnRequest, EndTxnResponse>
{
    /// <summary>The last EndTxn version of transactions V1 (Kafka's <c>LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2</c>).</summary>
    private const short LastVersionBeforeTransactionsV2 = 4;

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<EndTxnResponse?> HandleAsync(
        RequestContext context, EndTxnRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (!coordinator.Authorizer.Authorize(TransactionalIdOperation.Write, request.TransactionalId))
        {
            return ToResponse(new EndTxnResult(ErrorCode.TransactionalIdAuthorizationFailed), version);
        }

        // The Prepare* record is appended synchronously, before this method's first await.
        var result = await coordinator.EndTxnAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
            request.Committed, tv2: version > LastVersionBeforeTransactionsV2, cancellationToken).ConfigureAwait(false);
        return ToResponse(result, version);
    }

    private static EndTxnResponse ToResponse(EndTxnResult result, short version) => new()
    {
        ErrorCode = (short)TransactionErrorVersions.ForVersion(result.Error, version, producerFencedFrom: 2, transactionAbortableFrom: 4),
        ProducerId = result.Error == ErrorCode.None ? result.ProducerId : -1,
        ProducerEpoch = result.Error == ErrorCode.None ? result.ProducerEpoch : (short)-1,
    };
}
