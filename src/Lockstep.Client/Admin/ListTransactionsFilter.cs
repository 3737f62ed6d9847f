using System;
using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>Filters of <see cref="KafkaAdminClient.ListTransactionsAsync"/>; all set filters must match.</summary>
public sealed class ListTransactionsFilter
{
    /// <summary>States to include (Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Empty,
    /// PrepareEpochFence); empty = all.</summary>
    public IReadOnlyCollection<string> States { get; init; } = [];

    /// <summary>Producer ids to include; empty = all.</summary>
    public IReadOnlyCollection<long> ProducerIds { get; init; } = [];

    /// <summary>Only transactions running at least this long (ListTransactions v1, KIP-994); null = any. Finds
    /// hanging transactions.</summary>
    public TimeSpan? MinDuration { get; init; }

    /// <summary>A Java regular expression the transactional id must match (ListTransactions v2, KIP-1152); null =
    /// any.</summary>
    public string? TransactionalIdPattern { get; init; }
}
