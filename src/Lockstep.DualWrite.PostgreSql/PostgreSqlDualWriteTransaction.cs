using System;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;

namespace Lockstep.DualWrite.PostgreSql;

/// <summary>One READ COMMITTED transaction of <see cref="PostgreSqlDualWriteStore"/> on its own pooled connection.
/// </summary>
/// <remarks>Invariants: used by one unit of work at a time (the writer's gate); after <see cref="CommitAsync"/> or
/// <see cref="DisposeAsync"/> only <see cref="DisposeAsync"/> may be called.</remarks>
internal sealed class PostgreSqlDualWriteTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, string table)
    : IDbDualWriteTransaction
{
    private bool _disposed;

    public DbConnection Connection => connection;

    public DbTransaction Transaction => transaction;

    /// <summary>The Npgsql connection, for Npgsql-specific APIs (COPY, batches) inside the unit.</summary>
    public NpgsqlConnection NpgsqlConnection => connection;

    /// <summary>The Npgsql transaction.</summary>
    public NpgsqlTransaction NpgsqlTransaction => transaction;

    public async ValueTask<string> LockStateAsync(string transactionalId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        // One round trip, two statements. The INSERT creates the row on first use; if another transaction inserted it
        // and has not committed yet, the INSERT waits for that transaction (the unique index's speculative insertion)
        // and then does nothing. SELECT … FOR UPDATE then takes the row lock, waiting for any writer holding it: this is
        // recipe step 2's mutual exclusion, held until COMMIT/ROLLBACK.
        using var batch = new NpgsqlBatch(connection, transaction);
        var insert = new NpgsqlBatchCommand($"""
            INSERT INTO {table} (transactional_id, prepared_txn_state, updated_at) VALUES ($1, '', now())
            ON CONFLICT (transactional_id) DO NOTHING
            """);
        insert.Parameters.Add(new NpgsqlParameter { Value = transactionalId });
        var select = new NpgsqlBatchCommand($"SELECT prepared_txn_state FROM {table} WHERE transactional_id = $1 FOR UPDATE");
        select.Parameters.Add(new NpgsqlParameter { Value = transactionalId });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(select);
        return await batch.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string
            ?? throw new InvalidOperationException($"The state row of '{transactionalId}' vanished while being locked.");
    }

    public async ValueTask WriteTokenAsync(string transactionalId, string token, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        ArgumentNullException.ThrowIfNull(token);
        using var update = new NpgsqlCommand(
            $"UPDATE {table} SET prepared_txn_state = $1, updated_at = now() WHERE transactional_id = $2",
            connection, transaction);
        update.Parameters.Add(new NpgsqlParameter { Value = token });
        update.Parameters.Add(new NpgsqlParameter { Value = transactionalId });
        // Also the guard against an application that swallowed a failed statement inside the unit: PostgreSQL would
        // answer a later COMMIT of the aborted transaction with "ROLLBACK" and no error, but this UPDATE fails first
        // (25P02 in_failed_sql_transaction), so the writer rolls back instead of storing a token it cannot commit.
        if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new InvalidOperationException($"No state row for '{transactionalId}': lock it (step 2) first.");
        }
    }

    public ValueTask CommitAsync(CancellationToken cancellationToken) =>
        // An I/O failure here breaks the Npgsql connector, which is then discarded on dispose instead of pooled; the
        // writer resolves the unknown outcome with ReadCommittedTokenAsync on a fresh connection.
        new(transaction.CommitAsync(cancellationToken));

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            // Rolls back when not committed; a no-op on a broken connection (the server already discarded it).
            await transaction.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
