using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// The partition leader's question to the transaction coordinator before appending a transactional batch
/// (KIP-890 part 1 verification; part 2 "implicit add" for Produce v12+). On a single node this is an in-process
/// call instead of AddPartitionsToTxn v4+ (kip939-spec.md §8.3).
/// </summary>
/// <remarks>
/// <see cref="Verify"/> is synchronous on purpose: the produce path must make every ordering-relevant state change
/// before its first await (see <c>IApiHandler</c>), so the coordinator decides and updates its in-memory state
/// under its own lock and hands back a task for the durable part (the transaction-log write of an implicit add).
/// </remarks>
internal interface ITransactionVerifier
{
    /// <summary>
    /// Checks that <paramref name="transactionalId"/> has an ongoing transaction with exactly
    /// (<paramref name="producerId"/>, <paramref name="producerEpoch"/>) that includes <paramref name="partition"/>;
    /// with <paramref name="addPartition"/> (TV2, Produce v12+) the partition is added when missing, as
    /// AddPartitionsToTxn would. Returns <see cref="ErrorCode.None"/> or the coordinator's error
    /// (INVALID_TXN_STATE, PRODUCER_FENCED, INVALID_PRODUCER_EPOCH, CONCURRENT_TRANSACTIONS,
    /// TRANSACTION_ABORTABLE, TRANSACTIONAL_ID_NOT_FOUND …), which the produce path translates per request version
    /// (§8.3). <see cref="TransactionVerification.Durable"/> completes when any coordinator state change is durable.
    /// </summary>
    TransactionVerification Verify(
        string transactionalId, long producerId, short producerEpoch, TopicPartition partition, bool addPartition);
}

/// <summary>The coordinator's answer to a produce-time verification.</summary>
/// <param name="Error">None when the append may proceed.</param>
/// <param name="Durable">Completes when the coordinator's own state change (if any) is durable.</param>
internal readonly record struct TransactionVerification(ErrorCode Error, Task Durable);
