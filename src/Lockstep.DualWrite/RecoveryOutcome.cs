namespace Lockstep.DualWrite;

/// <summary>What <see cref="DualWriter.RecoverAsync"/> did with the transaction Kafka held prepared for the id.</summary>
public enum RecoveryOutcome
{
    /// <summary>Kafka held no prepared transaction for the id (the last incarnation completed its work or never
    /// prepared).</summary>
    NothingPrepared,

    /// <summary>The DB held the prepared transaction's token: its DB transaction committed, so the Kafka transaction
    /// was committed (failure-table row "after 7, before 8").</summary>
    Committed,

    /// <summary>The DB did not hold the token: the DB transaction rolled back (or never reached step 6), so the Kafka
    /// transaction was aborted (rows "before step 5" and "after 5, before 7").</summary>
    Aborted,
}
