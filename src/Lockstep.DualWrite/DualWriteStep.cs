namespace Lockstep.DualWrite;

/// <summary>
/// The steps of the dual-write recipe (dual-write.md §1), numbered as there. <see cref="IDualWriteObserver"/> is told
/// when each one has completed, so a test or the demo can crash the process exactly at a step boundary and check
/// that recovery reaches the outcome the failure table of dual-write.md predicts.
/// </summary>
public enum DualWriteStep
{
    /// <summary>1. The producer was created with two-phase commit and <c>InitTransactions(keepPrepared: true)</c>
    /// returned (it may have come up prepared with a transaction left by an earlier incarnation).</summary>
    InitTransactions = 1,

    /// <summary>2. The DB transaction is open and this id's state row is locked (created with an empty token if it
    /// was missing).</summary>
    LockState = 2,

    /// <summary>3. <c>CompleteTransaction(stored token)</c> resolved whatever the producer held prepared (commit iff
    /// the DB holds its token, else abort; nothing when nothing was prepared).</summary>
    CompletePrevious = 3,

    /// <summary>4. The Kafka transaction has begun and the unit of work wrote its rows and produced its events.</summary>
    WriteAndProduce = 4,

    /// <summary>5. <c>PrepareTransaction</c> flushed every record; Kafka holds the transaction open with no timeout.
    /// </summary>
    Prepare = 5,

    /// <summary>6. The prepared token was written into the state row inside the still-open DB transaction.</summary>
    StoreToken = 6,

    /// <summary>7. The DB transaction committed: the decision point. From here on the events must become visible.
    /// </summary>
    CommitDatabase = 7,

    /// <summary>8. The Kafka transaction committed; the unit of work is complete.</summary>
    CommitKafka = 8,
}
