namespace Lockstep.Client.Transactions;

/// <summary>
/// Client-side transaction states, exactly Java's <c>TransactionManager.State</c> at trunk (kip939-spec.md §3.4).
/// There is no PREPARING state: preparing is a flush followed by a local transition.
/// </summary>
internal enum TransactionState
{
    Uninitialized,
    Initializing,
    Ready,
    InTransaction,
    PreparedTransaction,
    CommittingTransaction,
    AbortingTransaction,
    AbortableError,
    FatalError,
}
