namespace Lockstep.Storage;

/// <summary>
/// One entry of a segment's aborted-transaction index (<c>.txnindex</c>; Kafka's <c>AbortedTxn</c>,
/// kip939-spec.md §8.6).
/// </summary>
/// <param name="ProducerId">The producer whose transaction was aborted.</param>
/// <param name="FirstOffset">Offset of the transaction's first batch on this partition.</param>
/// <param name="LastOffset">Offset of the ABORT marker.</param>
/// <param name="LastStableOffset">
/// The last stable offset right after the abort: the first offset of the earliest transaction of another producer
/// that was still open, else <paramref name="LastOffset"/> + 1. A read_committed fetch stops collecting entries at
/// the first one whose value reaches the end of the data it returns (no later entry can concern that data).
/// </param>
public readonly record struct AbortedTransaction(long ProducerId, long FirstOffset, long LastOffset, long LastStableOffset);
