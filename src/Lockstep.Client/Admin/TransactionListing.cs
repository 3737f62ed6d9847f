namespace Lockstep.Client.Admin;

/// <summary>A transactional id as listed by ListTransactions.</summary>
/// <param name="TransactionalId">The transactional id.</param>
/// <param name="ProducerId">Its current producer id.</param>
/// <param name="State">Its transaction state (Ongoing, PrepareCommit, …).</param>
public sealed record TransactionListing(string TransactionalId, long ProducerId, string State);
