using System.Collections.Immutable;
using System.Threading.Tasks;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// One version of a transactional id's state (kip939-spec.md §7.1): what the <c>__transaction_state</c> record
/// stores, plus the in-memory <see cref="LastProducerEpoch"/>. Immutable, so a transition is "build the next
/// snapshot, persist it, install it" (Kafka's <c>TxnTransitMetadata</c>) and a snapshot handed to the marker
/// writer can never change under it.
/// </summary>
internal sealed record TxnSnapshot
{
    /// <summary>No producer id (Kafka's <c>RecordBatch.NO_PRODUCER_ID</c>).</summary>
    public const long NoProducerId = -1;

    /// <summary>No producer epoch (Kafka's <c>RecordBatch.NO_PRODUCER_EPOCH</c>).</summary>
    public const short NoProducerEpoch = -1;

    /// <summary>The stored timeout that marks a KIP-939 two-phase-commit transaction (never timed out).</summary>
    public const int TwoPhaseCommitTimeoutMs = int.MaxValue;

    /// <summary>
    /// The producer id of the transaction: the id in its batches and in its markers. Equals the client's id except
    /// while a kept transaction (§7.11) or a TV2 epoch-overflow rotation is in flight (see <see cref="NextProducerId"/>).
    /// </summary>
    public required long ProducerId { get; init; }

    /// <summary>The id before the last rotation on epoch exhaustion (lets a retry with the old id be recognized).</summary>
    public long PreviousProducerId { get; init; } = NoProducerId;

    /// <summary>
    /// Ongoing with <see cref="NextProducerEpoch"/> ≥ 0: the client-facing id of a kept transaction (§7.11).
    /// Prepare*: the id the client continues with once the transaction completes (TV2 epoch overflow, or a kept
    /// transaction whose client id was rotated), with epoch <see cref="NextProducerEpoch"/> (−1 read as 0, Kafka's
    /// overflow encoding).
    /// </summary>
    public long NextProducerId { get; init; } = NoProducerId;

    /// <summary>The epoch of the transaction (and of its markers).</summary>
    public required short ProducerEpoch { get; init; }

    /// <summary>See <see cref="NextProducerId"/>. Persisted in the KIP-939 tagged field 3.</summary>
    public short NextProducerEpoch { get; init; } = NoProducerEpoch;

    /// <summary>The epoch before the last bump, to recognize a retried bump. In memory only (Kafka's loader also
    /// rebuilds it as −1).</summary>
    public short LastProducerEpoch { get; init; } = NoProducerEpoch;

    /// <summary>Transaction timeout; <see cref="TwoPhaseCommitTimeoutMs"/> for a 2PC transaction.</summary>
    public required int TimeoutMs { get; init; }

    /// <summary>The state.</summary>
    public required TransactionState State { get; init; }

    /// <summary>Partitions in the transaction (empty outside Ongoing/Prepare*).</summary>
    public ImmutableHashSet<TopicPartition> Partitions { get; init; } = [];

    /// <summary>When the current transaction started (−1 when none).</summary>
    public long StartMs { get; init; } = -1;

    /// <summary>Last state change (drives transactional-id expiration).</summary>
    public long LastUpdateMs { get; init; }

    /// <summary>The client's transaction version (0/1 or 2) of the current or last transaction.</summary>
    public short ClientTransactionVersion { get; init; }

    /// <summary>Whether this is a KIP-939 two-phase-commit transaction (the only persisted marker of it, §7.1).</summary>
    public bool IsTwoPhaseCommit => TimeoutMs == TwoPhaseCommitTimeoutMs;

    /// <summary>An ongoing transaction kept by InitProducerId(KeepPreparedTxn=true): the client holds another epoch.</summary>
    public bool HasKeptTransaction => State == TransactionState.Ongoing && NextProducerEpoch >= 0;

    /// <summary>The producer id the client must present.</summary>
    public long ClientProducerId => HasKeptTransaction ? NextProducerId : ProducerId;

    /// <summary>The epoch the client must present.</summary>
    public short ClientProducerEpoch => HasKeptTransaction ? NextProducerEpoch : ProducerEpoch;

    /// <summary>Kafka's <c>isEpochExhausted</c>: Short.MAX_VALUE − 1 and above leave no room for a TV2 bump.</summary>
    public static bool IsEpochExhausted(short epoch) => epoch >= short.MaxValue - 1;
}

/// <summary>
/// A transactional id's mutable slot, guarded by the coordinator lock: the installed snapshot, the snapshot being
/// persisted (Kafka's <c>pendingState</c>: while set, other transitions get CONCURRENT_TRANSACTIONS), and the
/// completion in flight (markers being written).
/// </summary>
internal sealed class TransactionEntry(string transactionalId, TxnSnapshot current)
{
    /// <summary>The transactional id.</summary>
    public string TransactionalId { get; } = transactionalId;

    /// <summary>The installed (durable, or freshly created and not yet written) snapshot.</summary>
    public TxnSnapshot Current { get; set; } = current;

    /// <summary>The snapshot whose record is being written; null when no transition is pending.</summary>
    public TxnSnapshot? Pending { get; set; }

    /// <summary>Sequence number of the last transition whose record was appended (see <see cref="InstalledSequence"/>).</summary>
    public long IssuedSequence { get; set; }

    /// <summary>
    /// Sequence number of the installed transition. Add-partition transitions may be chained on a pending one
    /// (several partitions of one produce request verified back to back); their records are durable in append
    /// order, but the continuations that install them may run in any order, so an older one never overwrites a
    /// newer one.
    /// </summary>
    public long InstalledSequence { get; set; }

    /// <summary>The marker/completion task of a Prepare* transaction, if one runs.</summary>
    public Task? Completion { get; set; }
}
