using System.Collections.Generic;
using Lockstep.Protocol.Records;

namespace Lockstep.Client.Producer;

/// <summary>
/// One partition's queue and idempotence bookkeeping (Java's per-partition deque in <c>RecordAccumulator</c> plus
/// <c>TxnPartitionEntry</c>). Guarded by the engine's lock.
/// </summary>
/// <remarks>
/// Invariants: batches in <see cref="Queue"/> that already carry a sequence come first and are sorted by
/// <see cref="ProducerBatch.BaseSequence"/>; batches without one follow in append order. So draining from the front
/// always sends sequences in order, retries included.
/// </remarks>
internal sealed class PartitionState(TopicPartition partition)
{
    public TopicPartition Partition { get; } = partition;

    public LinkedList<ProducerBatch> Queue { get; } = new();

    /// <summary>Batches of this partition sent and not yet answered, in send (= sequence) order.</summary>
    public List<ProducerBatch> InFlightBatches { get; } = [];

    /// <summary>Number of <see cref="InFlightBatches"/>.</summary>
    public int InFlight => InFlightBatches.Count;

    /// <summary>Set after a retriable failure: batches go out one at a time until one succeeds, so a retried batch
    /// can never be overtaken by a later sequence (Java: <c>TransactionManager.hasInflightBatches/retry</c> ordering).
    /// </summary>
    public bool Retrying { get; set; }

    /// <summary>The next sequence number to assign (KIP-98; wraps at int.MaxValue like Java's
    /// <c>DefaultRecordBatch.incrementSequence</c>).</summary>
    public int NextSequence { get; set; }

    /// <summary>Last sequence of the highest batch acknowledged in the current epoch, or -1. The broker appends an
    /// idempotent producer's batches strictly in sequence order, so any batch ending at or below it is in the log.
    /// </summary>
    public int LastAckedSequence { get; set; } = -1;

    /// <summary>The producer id whose sequence space <see cref="NextSequence"/> and <see cref="LastAckedSequence"/>
    /// belong to (Java's <c>TxnPartitionEntry.producerIdAndEpoch</c>). After an idempotent epoch bump it lags the
    /// producer's identity until the partition's batches of the old epoch are done.</summary>
    public long ProducerId { get; set; } = RecordBatchHeader.NoProducerId;

    /// <summary>The epoch that goes with <see cref="ProducerId"/>.</summary>
    public short ProducerEpoch { get; set; } = -1;

    /// <summary>
    /// Set when a sequenced batch failed for good (expired, out of retries, or a non-retriable error): the sequence
    /// just after it. The batch may be in the log all the same (an earlier attempt's answer may have been lost), and
    /// until the partition's other sequenced batches are done nobody knows, so no new batch is sequenced (Java's
    /// <c>TransactionManager.partitionsWithUnresolvedSequences</c>).
    /// </summary>
    public int? UnresolvedNextSequence { get; set; }

    /// <summary>True while a batch of this partition carries a sequence: in flight, or queued for a retry (Java's
    /// <c>TxnPartitionEntry.hasInflightBatches</c>, whose set also keeps batches awaiting a retry).</summary>
    public bool HasSequencedBatches => InFlightBatches.Count > 0 || Queue.First?.Value.BaseSequence >= 0;
}
