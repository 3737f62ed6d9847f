namespace Lockstep.Client.Admin;

/// <summary>An active producer on a partition, as reported by DescribeProducers (KIP-664).</summary>
/// <param name="ProducerId">The producer id.</param>
/// <param name="ProducerEpoch">Its epoch.</param>
/// <param name="LastSequence">The last sequence number written, or -1.</param>
/// <param name="LastTimestamp">The timestamp of its last write (Unix ms), or -1.</param>
/// <param name="CoordinatorEpoch">The coordinator epoch of its last transaction marker.</param>
/// <param name="CurrentTransactionStartOffset">First offset of its open transaction on this partition, or -1: a
/// value far below the log end offset points at a hanging transaction.</param>
public sealed record ProducerStateDescription(
    long ProducerId, int ProducerEpoch, int LastSequence, long LastTimestamp, int CoordinatorEpoch,
    long CurrentTransactionStartOffset);
