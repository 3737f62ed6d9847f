using System;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// The coordinator-side state of a transactional id (kip939-spec.md §7.2). The numeric values are the
/// <c>TransactionStatus</c> byte of the <c>__transaction_state</c> value record (Kafka's <c>TransactionState.id</c>),
/// so they must never change.
/// </summary>
internal enum TransactionState : sbyte
{
    /// <summary>No transaction; producer id and epoch are assigned.</summary>
    Empty = 0,

    /// <summary>A transaction is open (partitions were added).</summary>
    Ongoing = 1,

    /// <summary>Commit decided and durable; markers are being written.</summary>
    PrepareCommit = 2,

    /// <summary>Abort decided and durable; markers are being written.</summary>
    PrepareAbort = 3,

    /// <summary>All commit markers are durable.</summary>
    CompleteCommit = 4,

    /// <summary>All abort markers are durable.</summary>
    CompleteAbort = 5,

    /// <summary>The id expired; its tombstone is being written.</summary>
    Dead = 6,

    /// <summary>Transient: the coordinator is fencing the epoch before aborting (InitProducerId over an ongoing
    /// transaction, or the timeout reaper). Never persisted.</summary>
    PrepareEpochFence = 7,
}

/// <summary>Names and rules of <see cref="TransactionState"/>.</summary>
internal static class TransactionStates
{
    /// <summary>The name DescribeTransactions and ListTransactions report (Kafka's <c>TransactionState.stateName</c>).</summary>
    public static string Name(this TransactionState state) => state switch
    {
        TransactionState.Empty => "Empty",
        TransactionState.Ongoing => "Ongoing",
        TransactionState.PrepareCommit => "PrepareCommit",
        TransactionState.PrepareAbort => "PrepareAbort",
        TransactionState.CompleteCommit => "CompleteCommit",
        TransactionState.CompleteAbort => "CompleteAbort",
        TransactionState.Dead => "Dead",
        TransactionState.PrepareEpochFence => "PrepareEpochFence",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>Parses a state name (case-sensitive, as Kafka's <c>TransactionState.fromName</c>).</summary>
    public static bool TryParse(string name, out TransactionState state)
    {
        for (var s = TransactionState.Empty; s <= TransactionState.PrepareEpochFence; s++)
        {
            if (string.Equals(s.Name(), name, StringComparison.Ordinal))
            {
                state = s;
                return true;
            }
        }

        state = default;
        return false;
    }

    /// <summary>Whether a transactional id in this state may expire (<c>transactional.id.expiration.ms</c>).</summary>
    public static bool IsExpirationAllowed(this TransactionState state) =>
        state is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort;

    /// <summary>Prepare* states: the outcome is decided and markers are in flight.</summary>
    public static bool IsPrepare(this TransactionState state) =>
        state is TransactionState.PrepareCommit or TransactionState.PrepareAbort;

    /// <summary>Whether a transaction is open (counted by the open-transactions metric).</summary>
    public static bool IsOpen(this TransactionState state) =>
        state is TransactionState.Ongoing or TransactionState.PrepareCommit or TransactionState.PrepareAbort
            or TransactionState.PrepareEpochFence;

    /// <summary>
    /// The valid previous states of each state (kip939-spec.md §7.2, Kafka's <c>TransactionState.validPreviousStates</c>);
    /// <see cref="TransactionCoordinator"/> checks every installed transition against it so a logic error surfaces as
    /// an exception instead of a silently corrupted transaction log.
    /// </summary>
    public static bool IsValidTransition(TransactionState from, TransactionState to) => to switch
    {
        TransactionState.Empty => from is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.Ongoing => from is TransactionState.Ongoing or TransactionState.Empty
            or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.PrepareCommit => from is TransactionState.Ongoing,
        TransactionState.PrepareAbort => from is TransactionState.Ongoing or TransactionState.PrepareEpochFence
            or TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.CompleteCommit => from is TransactionState.PrepareCommit,
        TransactionState.CompleteAbort => from is TransactionState.PrepareAbort,
        TransactionState.Dead => from is TransactionState.Empty or TransactionState.CompleteAbort or TransactionState.CompleteCommit,
        TransactionState.PrepareEpochFence => from is TransactionState.Ongoing,
        _ => false,
    };
}
