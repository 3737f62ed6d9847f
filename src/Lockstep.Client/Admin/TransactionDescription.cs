using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>A transactional id's state as described by DescribeTransactions.</summary>
/// <param name="TransactionalId">The transactional id.</param>
/// <param name="State">Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Empty, …</param>
/// <param name="TransactionTimeoutMs">The transaction timeout the producer registered.</param>
/// <param name="TransactionStartTimeMs">Unix ms when the ongoing transaction started, or -1.</param>
/// <param name="ProducerId">The producer id.</param>
/// <param name="ProducerEpoch">The producer epoch.</param>
/// <param name="Partitions">Partitions in the ongoing transaction.</param>
public sealed record TransactionDescription(
    string TransactionalId, string State, int TransactionTimeoutMs, long TransactionStartTimeMs, long ProducerId,
    short ProducerEpoch, IReadOnlyList<TopicPartition> Partitions);
