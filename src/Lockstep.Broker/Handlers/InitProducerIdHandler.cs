// InitProducerId (key 22) — versions 0-6 (6 only while transaction.two.phase.commit.enable is on, else 0-5).
//
// Behaviour:
// - TransactionalId null (idempotent producer): ProducerId/ProducerEpoch both -1 → a new producer id with epoch 0
//   from ProducerIdManager (block-reserved and persisted, never reused across restarts).
// - Idempotent, v3+ (KIP-360) with the id and the epoch last issued for it → the same id with the epoch bumped, which
//   fences the old epoch on every partition. Apache Kafka instead always hands an idempotent producer a new id here;
//   both are valid answers for clients, the bump also fences zombies. An id the broker does not remember gets a new
//   id, as in Kafka. Another epoch of a remembered id is PRODUCER_FENCED.
// - Exactly one of ProducerId/ProducerEpoch = -1 → INVALID_REQUEST (KafkaApis.handleInitProducerIdRequest).
// - Transactional id: authorization first, where KafkaApis checks it (WRITE on the id; with Enable2Pc also
//   TWO_PHASE_COMMIT) → TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an empty id → INVALID_REQUEST; then the transaction
//   coordinator (kip939-spec.md §7.4, §7.10, §7.11): timeout checks, epoch bump or producer-id rotation, abort of
//   an ongoing transaction (CONCURRENT_TRANSACTIONS, the client retries), KIP-939 Enable2Pc / KeepPreparedTxn.
// Version notes: v2 flexible; v3 ProducerId/ProducerEpoch; v4 PRODUCER_FENCED (older: INVALID_PRODUCER_EPOCH);
// v5 TRANSACTION_ABORTABLE (older: INVALID_TXN_STATE); v6 (KIP-939) Enable2Pc, KeepPreparedTxn and the
// OngoingTxnProducerId/Epoch response fields. Kafka marks v6 unstable and stubs KeepPreparedTxn with
// UNSUPPORTED_VERSION; Lockstep implements it (§7.11) and advertises v6 only when 2PC is enabled.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Partitions;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Allocates producer ids and epochs for idempotent and transactional producers.</summary>
internal sealed class InitProducerIdHandler(ProducerIdManager producerIds, TransactionCoordinator coordinator, BrokerConfig config)
    : ApiHandler<InitProducerIdRequest, InitProducerIdResponse>
{
    private const long NoProducerId = -1;
    private const short NoProducerEpoch = -1;

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => (short)(config.TwoPhaseCommitEnabled ? 6 : 5);

    /// <inheritdoc />
    protected override async ValueTask<InitProducerIdResponse?> HandleAsync(
        RequestContext context, InitProducerIdRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var transactionalId = request.TransactionalId;
        if (transactionalId is not null)
        {
            if (!coordinator.Authorizer.Authorize(TransactionalIdOperation.Write, transactionalId)
                || (request.Enable2Pc && !coordinator.Authorizer.Authorize(TransactionalIdOperation.TwoPhaseCommit, transactionalId)))
            {
                return Error(ErrorCode.TransactionalIdAuthorizationFailed, version);
            }
        }

        if ((request.ProducerId == NoProducerId) != (request.ProducerEpoch == NoProducerEpoch))
        {
            return Error(ErrorCode.InvalidRequest, version);
        }

        if (transactionalId is null)
        {
            var (error, producerId, epoch) = producerIds.InitIdempotent(request.ProducerId, request.ProducerEpoch);
            return error == ErrorCode.None
                ? new InitProducerIdResponse { ProducerId = producerId, ProducerEpoch = epoch }
                : Error(error, version);
        }

        if (transactionalId.Length == 0)
        {
            return Error(ErrorCode.InvalidRequest, version);
        }

        // The coordinator decides (and appends its record) synchronously, before this method's first await.
        var result = await coordinator.InitProducerIdAsync(transactionalId, request.TransactionTimeoutMs, request.Enable2Pc,
            request.KeepPreparedTxn, request.ProducerId, request.ProducerEpoch, cancellationToken).ConfigureAwait(false);
        return ToResponse(result, version);
    }

    private static InitProducerIdResponse ToResponse(InitProducerIdResult result, short version)
    {
        if (result.Error != ErrorCode.None)
        {
            return Error(result.Error, version);
        }

        return new InitProducerIdResponse
        {
            ProducerId = result.ProducerId,
            ProducerEpoch = result.ProducerEpoch,
            // Only v6 carries these; a kept transaction is only possible through v6 (KeepPreparedTxn is a v6 field).
            OngoingTxnProducerId = version >= 6 ? result.OngoingProducerId : NoProducerId,
            OngoingTxnProducerEpoch = version >= 6 ? result.OngoingProducerEpoch : NoProducerEpoch,
        };
    }

    private static InitProducerIdResponse Error(ErrorCode error, short version) => new()
    {
        ErrorCode = (short)TransactionErrorVersions.ForVersion(error, version, producerFencedFrom: 4, transactionAbortableFrom: 5),
        ProducerId = NoProducerId,
        ProducerEpoch = NoProducerEpoch,
    };
}
