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
}

/// <summary>
/// One open DB transaction of <see cref="IDualWriteStore"/>. The application writes its rows through
/// <see cref="Connection"/> and <see cref="Transaction"/>; the writer locks and updates the state row through the
/// other members. Disposing without <see cref="CommitAsync"/> rolls back.
/// </summary>
public interface IDualWriteTransaction : System.IAsyncDisposable
{
    /// <summary>The connection the transaction runs on.</summary>
    DbConnection Connection { get; }

    /// <summary>The transaction; set it on every command of the unit of work.</summary>
    DbTransaction Transaction { get; }

    /// <summary>
    /// Locks the state row of <paramref name="transactionalId"/> for the rest of this transaction, inserting it with
    /// an empty token if missing, and returns the stored token (recipe step 2: <c>SELECT … FOR UPDATE</c> or the
    /// store's equivalent). A second writer on the same id must block here until this transaction ends.
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
