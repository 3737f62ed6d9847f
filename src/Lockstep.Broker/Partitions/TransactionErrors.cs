using Lockstep.Protocol;

namespace Lockstep.Broker.Partitions;

/// <summary>
/// Translation of the coordinator's verification errors into produce-response errors, per request version
/// (kip939-spec.md §8.3; <c>ReplicaManager.appendRecords</c>' post-verification callback and
/// <c>AddPartitionsToTxnManager</c> at the pinned Kafka commit).
/// </summary>
internal static class TransactionErrors
{
    /// <summary>The last Produce version of transactions V1 (<c>ProduceRequest.LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2</c>);
    /// later versions signal TV2, where a transactional batch implicitly adds its partition.</summary>
    public const short LastProduceVersionBeforeTransactionsV2 = 11;

    /// <summary>The first Produce version that may return TRANSACTION_ABORTABLE (KIP-890's GENERIC_ERROR_SUPPORTED).</summary>
    private const short FirstProduceVersionWithTransactionAbortable = 11;

    /// <summary>Maps a coordinator error to what a client of <paramref name="produceVersion"/> understands.</summary>
    public static ErrorCode ForProduce(ErrorCode coordinatorError, short produceVersion) => coordinatorError switch
    {
        // Retriable coordinator trouble that old clients would not retry: NOT_ENOUGH_REPLICAS makes every client
        // retry without a metadata refresh.
        ErrorCode.NetworkException or ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable
            or ErrorCode.NotCoordinator => ErrorCode.NotEnoughReplicas,

        // TV2 clients understand CONCURRENT_TRANSACTIONS (common while the previous transaction completes).
        ErrorCode.ConcurrentTransactions when produceVersion <= LastProduceVersionBeforeTransactionsV2 => ErrorCode.NotEnoughReplicas,

        // Producers expect INVALID_PRODUCER_EPOCH from a produce (AddPartitionsToTxnManager).
        ErrorCode.ProducerFenced => ErrorCode.InvalidProducerEpoch,

        // DEFAULT_ERROR clients (produce ≤ 10) do not know TRANSACTION_ABORTABLE.
        ErrorCode.TransactionAbortable when produceVersion < FirstProduceVersionWithTransactionAbortable => ErrorCode.InvalidTxnState,

        _ => coordinatorError,
    };
}
