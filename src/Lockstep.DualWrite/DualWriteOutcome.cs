namespace Lockstep.DualWrite;

/// <summary>What happened to a unit of work that ended with a <see cref="DualWriteException"/>.</summary>
public enum DualWriteOutcome
{
    /// <summary>The DB transaction rolled back and the Kafka transaction was (or will be, by recovery) aborted:
    /// neither the rows nor the events exist. Safe to retry the unit.</summary>
    RolledBack,

    /// <summary>The DB transaction committed: the rows exist and the events will become visible (now, or when
    /// recovery completes the prepared Kafka transaction). Do not retry the unit.</summary>
    Committed,

    /// <summary>The DB commit outcome could not be established (the database was unreachable when re-reading it).
    /// Rows and events still agree — recovery commits the Kafka transaction iff the DB committed — but the caller
    /// must check its data before retrying.</summary>
    Unknown,
}
