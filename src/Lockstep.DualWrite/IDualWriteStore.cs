using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.DualWrite;

/// <summary>
/// The database side of the recipe (dual-write.md §1, §3 "SQL shapes"): where the prepared-transaction token of each
/// transactional id is stored, atomically with the application's own rows. One implementation per database
/// (Lockstep.DualWrite.Sqlite, …). Implementations must be safe for concurrent use by several writers; each
/// <see cref="BeginAsync"/> returns an independent transaction on its own connection.
/// </summary>
public interface IDualWriteStore
{
    /// <summary>Opens a connection and begins a write transaction on it (recipe step 2, first half).</summary>
    /// <param name="cancellationToken">Cancels waiting for the connection or the database's write lock.</param>
    /// <returns>The open transaction; dispose it to roll back whatever was not committed.</returns>
    ValueTask<IDualWriteTransaction> BeginAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads the committed token of <paramref name="transactionalId"/> outside any transaction of the caller. Used
    /// after a commit whose outcome is unknown (the connection failed during COMMIT): the token tells whether the DB
    /// committed, so the writer never has to guess (dual-write.md failure table, row "commit outcome unknown").
    /// </summary>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stored token text (<c>"producerId:epoch"</c>), empty when none, or null when the id has no state
    /// row.</returns>
    ValueTask<string?> ReadCommittedTokenAsync(string transactionalId, CancellationToken cancellationToken);

    /// <summary>
    /// Acquires or renews the lease of <paramref name="transactionalId"/> for <paramref name="owner"/> (dual-write.md
    /// §2 "Many instances"): succeeds when the id has no lease, its lease expired, or <paramref name="owner"/> already
    /// holds it (then the expiry is pushed out). Creates the state row if missing. Atomic against concurrent callers:
    /// of two instances racing for an expired lease, exactly one wins.
    /// </summary>
    /// <remarks>A lease only decides which instance should drive an id; correctness never rests on it. Two instances
    /// that both believe they own an id are resolved by Kafka's epoch fencing (the later <c>InitProducerId</c> wins) and
    /// the state-row lock, so a lease that lapses during a GC pause loses nothing.</remarks>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <param name="owner">The instance's identity (stable for the life of the process).</param>
    /// <param name="duration">How long the lease lasts from now unless renewed.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>True when <paramref name="owner"/> holds the lease afterwards.</returns>
    ValueTask<bool> TryAcquireLeaseAsync(string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives up the lease of <paramref name="transactionalId"/> if <paramref name="owner"/> holds it (another
    /// instance may take the id at once); a no-op otherwise.</summary>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <param name="owner">The instance's identity.</param>
    /// <param name="cancellationToken">Cancels the release.</param>
    /// <returns>A task that completes when the lease is released.</returns>
    ValueTask ReleaseLeaseAsync(string transactionalId, string owner, CancellationToken cancellationToken);

    /// <summary>Every state row (committed data only): the recorded token and the lease of each transactional id. Used
    /// to find ids whose lease expired (takeover) and by operator tooling (<c>lockstep transactions resolve</c>).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The rows, in no particular order.</returns>
    ValueTask<IReadOnlyList<DualWriteStateRow>> ListStatesAsync(CancellationToken cancellationToken);
}

/// <summary>One state row of <see cref="IDualWriteStore"/>: the decision record and the lease of a transactional id.
/// </summary>
/// <param name="TransactionalId">The Kafka transactional id.</param>
/// <param name="Token">The prepared-transaction token of the last unit whose DB transaction committed
/// (<c>"producerId:epoch"</c>), empty when none.</param>
/// <param name="LeaseOwner">The instance holding the lease, or null when never leased or released.</param>
/// <param name="LeaseExpiresAt">When the lease lapses unless renewed (the store's clock), or null.</param>
/// <param name="UpdatedAt">When the row last changed (the store's clock).</param>
public sealed record DualWriteStateRow(
    string TransactionalId, string Token, string? LeaseOwner, DateTimeOffset? LeaseExpiresAt, DateTimeOffset UpdatedAt);

/// <summary>
/// One open transaction of <see cref="IDualWriteStore"/>. The writer locks and updates the state row through these
/// members; the application writes its data through the store-specific type (<see cref="IDbDualWriteTransaction"/> for
/// ADO.NET stores; a NoSQL store exposes its own, e.g. a Redis transaction). Disposing without
/// <see cref="CommitAsync"/> rolls back.
/// </summary>
public interface IDualWriteTransaction : IAsyncDisposable
{
    /// <summary>
    /// Locks the state row of <paramref name="transactionalId"/> for the rest of this transaction, inserting it with
    /// an empty token if missing, and returns the stored token (recipe step 2: <c>SELECT … FOR UPDATE</c> or the
    /// store's equivalent). A second writer on the same id must block here until this transaction ends — or, in a store
    /// with optimistic concurrency (Redis WATCH, a version check), its commit must fail if the row changed in between.
    /// </summary>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <param name="cancellationToken">Cancels the wait for the lock.</param>
    /// <returns>The stored token text; empty when no transaction was recorded.</returns>
    ValueTask<string> LockStateAsync(string transactionalId, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="token"/> into the locked state row (recipe step 6).</summary>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <param name="token">The prepared token text.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the row is updated.</returns>
    ValueTask WriteTokenAsync(string transactionalId, string token, CancellationToken cancellationToken);

    /// <summary>
    /// Commits (recipe step 7, the decision point). An exception means the outcome is unknown: the writer resolves it
    /// with <see cref="IDualWriteStore.ReadCommittedTokenAsync"/>, never by assuming either way.
    /// </summary>
    /// <param name="cancellationToken">Cancels the commit (the outcome is then unknown as well).</param>
    /// <returns>A task that completes when the database has acknowledged the commit.</returns>
    ValueTask CommitAsync(CancellationToken cancellationToken);
}

/// <summary>A <see cref="IDualWriteTransaction"/> of an ADO.NET store (PostgreSQL, SQLite): the application writes its
/// rows on <see cref="Connection"/> within <see cref="Transaction"/>.</summary>
public interface IDbDualWriteTransaction : IDualWriteTransaction
{
    /// <summary>The connection the transaction runs on.</summary>
    DbConnection Connection { get; }

    /// <summary>The transaction; set it on every command of the unit of work.</summary>
    DbTransaction Transaction { get; }
}
