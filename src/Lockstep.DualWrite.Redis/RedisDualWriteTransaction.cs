using System;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace Lockstep.DualWrite.Redis;

/// <summary>
/// One unit of work's Redis transaction (<see cref="RedisDualWriteStore.BeginAsync"/>): the application queues its
/// writes on <see cref="Transaction"/>, the writer adds the token (recipe step 6), and
/// <see cref="CommitAsync"/> sends everything as one <c>MULTI</c>/<c>EXEC</c> guarded by the state's version.
/// </summary>
/// <remarks>
/// <para>Commands queued on <see cref="Transaction"/> are buffered on the client and sent only at the commit, so the
/// tasks they return complete only after <see cref="CommitAsync"/> (awaiting one inside the unit of work deadlocks
/// the unit); if the <c>EXEC</c> is not applied they are cancelled. Read what the unit needs beforehand, outside the
/// transaction (<see cref="RedisDualWriteStore.GetDatabaseAsync"/>), and guard those reads with
/// <see cref="ITransactionAsync.AddCondition"/> if the writes depend on them: a failed condition fails the commit
/// exactly like a conflict on the state (<see cref="RedisDualWriteConflictException"/>), and the unit rolls back.</para>
/// <para>Disposing without committing sends nothing: Redis never saw the unit.</para>
/// </remarks>
public sealed class RedisDualWriteTransaction : IDualWriteTransaction
{
    private readonly RedisDualWriteStore _store;
    private readonly IDatabase _database;
    private string? _transactionalId;
    private ConditionResult? _versionCheck;
    private bool _completed;

    internal RedisDualWriteTransaction(RedisDualWriteStore store, IDatabase database)
    {
        _store = store;
        _database = database;
        Transaction = database.CreateTransaction();
    }

    /// <summary>
    /// The StackExchange.Redis transaction to queue the unit's writes on (it is an <see cref="IDatabaseAsync"/>):
    /// they commit in the same <c>EXEC</c> as the token. Do not call <see cref="ITransactionAsync.ExecuteAsync"/>
    /// yourself; the writer commits. The returned tasks complete only after the commit (see remarks on the type).
    /// </summary>
    public ITransaction Transaction { get; }

    /// <summary>The store's key prefix (<see cref="RedisDualWriteStoreOptions.KeyPrefix"/>).</summary>
    public string KeyPrefix => _store.KeyPrefix;

    /// <summary>Builds an application key in the store's namespace: <see cref="KeyPrefix"/> + <paramref name="suffix"/>.
    /// With a hash tag in the prefix the key shares the state hash's cluster slot.</summary>
    /// <param name="suffix">The application's key name, e.g. <c>order:42</c>.</param>
    /// <returns>The full key.</returns>
    public RedisKey Key(string suffix) => KeyPrefix + suffix;

    /// <summary>
    /// Creates the state hash if missing and takes a new lock ticket (<c>version</c> + 1) in one Lua script, and makes
    /// the commit conditional on the version still being that ticket. Any writer that locked the id earlier and has not
    /// committed yet will now fail its commit; this one fails if another locks or commits before its <c>EXEC</c>.
    /// </summary>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply (the ticket may have been taken anyway, which only
    /// fails older writers' commits).</param>
    /// <returns>The committed token, empty when none.</returns>
    public async ValueTask<string> LockStateAsync(string transactionalId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        if (_transactionalId is not null)
        {
            throw new InvalidOperationException($"This transaction already locked '{_transactionalId}'.");
        }

        var key = _store.StateKey(transactionalId);
        var (token, version) = await RedisDualWriteStore.LockAsync(_database, key, transactionalId, cancellationToken).ConfigureAwait(false);
        _transactionalId = transactionalId;
        // WATCH key + HGET version before MULTI; EXEC returns nil if the hash changes after the check (optimistic
        // locking as in https://redis.io/docs/latest/develop/interact/transactions/#optimistic-locking-using-check-and-set).
        _versionCheck = Transaction.AddCondition(Condition.HashEqual(key, "version", version));
        return token;
    }

    /// <summary>Queues <c>HSET token updated_at</c> and <c>HINCRBY version 1</c> (so anyone who read the state before
    /// this commit fails theirs), to run in the commit's <c>EXEC</c>. Nothing is sent yet.</summary>
    /// <param name="transactionalId">The Kafka transactional id (the one locked).</param>
    /// <param name="token">The prepared token text.</param>
    /// <param name="cancellationToken">Not used: nothing is sent.</param>
    /// <returns>A completed task.</returns>
    public ValueTask WriteTokenAsync(string transactionalId, string token, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        ArgumentNullException.ThrowIfNull(token);
        if (!string.Equals(_transactionalId, transactionalId, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"No state locked for '{transactionalId}': lock it (step 2) first.");
        }

        var key = _store.StateKey(transactionalId);
        // The store's TimeProvider for updated_at: a queued command cannot read the server's TIME. It is informational
        // only; the leases, which decide, use the server's clock.
        _ = Transaction.HashSetAsync(key,
            [new HashEntry("token", token), new HashEntry("updated_at", _store.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds())]);
        _ = Transaction.HashIncrementAsync(key, "version");
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Sends <c>WATCH</c>, the version check, then <c>MULTI</c>, every queued write and <c>EXEC</c> (the decision point,
    /// recipe step 7).
    /// </summary>
    /// <param name="cancellationToken">Not honoured once sent: the outcome must be established.</param>
    /// <returns>A task that completes when Redis applied the <c>EXEC</c>.</returns>
    /// <exception cref="RedisDualWriteConflictException">The <c>EXEC</c> was not applied: another writer locked or
    /// committed the id since <see cref="LockStateAsync"/>, or a condition the unit added failed. Nothing was written.
    /// </exception>
    /// <exception cref="RedisDualWriteException">Redis failed; if the connection broke after sending <c>EXEC</c> the
    /// outcome is unknown and the writer re-reads the token to learn it.</exception>
    public async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        var id = _transactionalId ?? "(no id)";
        var applied = await RedisDualWriteStore.WrapAsync(Transaction.ExecuteAsync(), id, "commit the transaction of")
            .ConfigureAwait(false);
        if (!applied)
        {
            throw new RedisDualWriteConflictException(id, _versionCheck is { WasSatisfied: false });
        }
    }

    /// <summary>Ends the transaction; if it was not committed nothing was ever sent, so there is nothing to undo.
    /// </summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _completed = true;
        return ValueTask.CompletedTask;
    }
}
