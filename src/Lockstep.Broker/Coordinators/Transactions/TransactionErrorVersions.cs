using Lockstep.Protocol;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// Per-request-version translation of coordinator errors that old clients do not know (the <c>finalError</c>
/// blocks of <c>KafkaApis</c>). PRODUCER_FENCED (90, KIP-588) is sent only from InitProducerId v4 and
/// AddPartitionsToTxn / AddOffsetsToTxn / EndTxn v2; older versions get INVALID_PRODUCER_EPOCH (47), which they
/// handle the same way. TRANSACTION_ABORTABLE (120, KIP-890) is sent only from InitProducerId v5,
/// AddPartitionsToTxn v5 and AddOffsetsToTxn / EndTxn / TxnOffsetCommit v4; older versions get INVALID_TXN_STATE,
/// what the produce path sends to clients that predate it (kip939-spec.md §8.3).
/// </summary>
internal static class TransactionErrorVersions
{
    /// <summary>Translates <paramref name="error"/> for a request of <paramref name="version"/>.</summary>
    /// <param name="error">The coordinator's error.</param>
    /// <param name="version">The request version.</param>
    /// <param name="producerFencedFrom">First version of this API that may carry PRODUCER_FENCED.</param>
    /// <param name="transactionAbortableFrom">First version of this API that may carry TRANSACTION_ABORTABLE.</param>
    public static ErrorCode ForVersion(ErrorCode error, short version, short producerFencedFrom, short transactionAbortableFrom) =>
        error switch
        {
            ErrorCode.ProducerFenced when version < producerFencedFrom => ErrorCode.InvalidProducerEpoch,
            ErrorCode.TransactionAbortable when version < transactionAbortableFrom => ErrorCode.InvalidTxnState,
            _ => error,
        };
}
