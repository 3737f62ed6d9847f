using System;
using System.Collections.Generic;
using System.Data;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;

namespace Lockstep.DualWrite.PostgreSql;

/// <summary>
/// <see cref="IDualWriteStore"/> on PostgreSQL (Npgsql). The tokens live in <c>lockstep_txn_state(transactional_id text
/// PRIMARY KEY, prepared_txn_state text NOT NULL, updated_at timestamptz NOT NULL, lease_owner text, lease_expires_at
/// timestamptz)</c> in the application's database, created on first use; every time in it is the server's clock
/// (<c>now()</c>), so instances on different machines agree on lease expiry.
/// </summary>
/// <remarks>
/// <para>Each unit of work runs in a READ COMMITTED transaction on its own pooled connection. Mutual exclusion of the
/// writers of one id is the state row's lock (<c>SELECT … FOR UPDATE</c>, dual-write.md §3), held until COMMIT; writers
/// of different ids never wait for each other.</para>
/// <para>A connection that fails during COMMIT is never reused: Npgsql marks a connector broken on any I/O error or
/// FATAL server error and drops it instead of returning it to the pool (the PostgreSql tests check this with a pool
/// of one connection after cutting the socket mid-COMMIT).</para>
/// </remarks>
public sealed class PostgreSqlDualWriteStore : IDualWriteStore, IAsyncDisposable
{
    /// <summary>Key of the transaction-scoped advisory lock that serialises the DDL of first use. Concurrent
    /// <c>CREATE TABLE IF NOT EXISTS</c> is not safe in PostgreSQL: the loser can fail with a unique violation on
    /// <c>pg_type_typname_nsp_index</c> (or <c>pg_namespace</c> for the schema) instead of skipping. 0x4C6F636B is
    /// "Lock" in ASCII.</summary>
    private const long SchemaLockKey = 0x4C6F636B;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgreSqlDualWriteStoreOptions _options;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);

    /// <summary>True once the DDL of first use ran; guarded by <see cref="_schemaGate"/> for writes.</summary>
    private volatile bool _schemaReady;

    /// <summary>
    /// Creates a store on a data source the application already has (its own connections and the store's then share
    /// one pool). The store does not dispose <paramref name="dataSource"/>.
    /// </summary>
    /// <param name="dataSource">The application's Npgsql data source.</param>
    /// <param name="options">Schema and table name; null for the defaults.</param>
    /// <exception cref="ArgumentException">An option is not a valid identifier.</exception>
    public PostgreSqlDualWriteStore(NpgsqlDataSource dataSource, PostgreSqlDualWriteStoreOptions? options = null)
        : this(dataSource, ownsDataSource: false, options)
    {
    }

    private PostgreSqlDualWriteStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlDualWriteStoreOptions? options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = options ?? new PostgreSqlDualWriteStoreOptions();
        _options.Validate();
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        QualifiedTableName = (_options.Schema is null ? string.Empty : Quote(_options.Schema) + ".") + Quote(_options.TableName);
    }

    /// <summary>Creates a store with its own data source (pool) for <paramref name="connectionString"/>; disposing the
    /// store disposes it.</summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=db;Username=app;Database=shop</c>.</param>
    /// <param name="options">Schema and table name; null for the defaults.</param>
    /// <returns>The store.</returns>
    public static PostgreSqlDualWriteStore Create(string connectionString, PostgreSqlDualWriteStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            return new PostgreSqlDualWriteStore(dataSource, ownsDataSource: true, options);
        }
        catch
        {
            dataSource.Dispose();
            throw;
        }
    }

    /// <summary>The data source the store opens its connections from; the application may use it for its own reads.
    /// </summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The state table as spliced into SQL: <c>"schema"."table"</c>, or <c>"table"</c> when it resolves
    /// through the search path.</summary>
    public string QualifiedTableName { get; }

    /// <summary>Opens a pooled connection, creating the state table on the first call.</summary>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open connection; dispose it to return it to the pool.</returns>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureSchemaAsync(connection, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<IDualWriteTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // READ COMMITTED suffices: the only shared state is the state row, and its row lock serialises the writers
            // of an id; stricter levels would only add serialization failures to retry.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken)
                .ConfigureAwait(false);
            return new PostgreSqlDualWriteTransaction(connection, transaction, QualifiedTableName);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<string?> ReadCommittedTokenAsync(string transactionalId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        // A fresh connection (never the one whose COMMIT failed) in autocommit: it sees exactly what was committed.
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand(
                $"SELECT prepared_txn_state FROM {QualifiedTableName} WHERE transactional_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = transactionalId });
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> TryAcquireLeaseAsync(
        string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One statement, the server's clock. ON CONFLICT DO UPDATE locks the existing row and evaluates its WHERE
            // against the newest committed version, so of two instances racing for an expired lease the second sees
            // the first's owner and updates nothing (no row RETURNed). Waits while a unit holds the row lock: renewal
            // is then delayed by at most one unit, far below any sensible lease duration.
            using var command = new NpgsqlCommand($"""
                INSERT INTO {QualifiedTableName} AS s (transactional_id, prepared_txn_state, updated_at, lease_owner, lease_expires_at)
                VALUES ($1, '', now(), $2, now() + $3 * interval '1 millisecond')
                ON CONFLICT (transactional_id) DO UPDATE
                    SET lease_owner = EXCLUDED.lease_owner, lease_expires_at = EXCLUDED.lease_expires_at
                    WHERE s.lease_owner IS NULL OR s.lease_owner = EXCLUDED.lease_owner
                        OR s.lease_expires_at IS NULL OR s.lease_expires_at <= now()
                RETURNING s.lease_owner
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = transactionalId });
            command.Parameters.Add(new NpgsqlParameter { Value = owner });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)Math.Ceiling(duration.TotalMilliseconds) });
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string;
        }
    }

    /// <inheritdoc/>
    public async ValueTask ReleaseLeaseAsync(string transactionalId, string owner, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"""
                UPDATE {QualifiedTableName} SET lease_owner = NULL, lease_expires_at = NULL
                WHERE transactional_id = $1 AND lease_owner = $2
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = transactionalId });
            command.Parameters.Add(new NpgsqlParameter { Value = owner });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<DualWriteStateRow>> ListStatesAsync(CancellationToken cancellationToken)
    {
        var rows = new List<DualWriteStateRow>();
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"""
                SELECT transactional_id, prepared_txn_state, lease_owner, lease_expires_at, updated_at
                FROM {QualifiedTableName} ORDER BY transactional_id
                """, connection);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // timestamptz is read as UTC (Npgsql 6+), so the offsets below are all zero.
                    rows.Add(new DualWriteStateRow(
                        reader.GetString(0),
                        reader.GetString(1),
                        await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? null : reader.GetString(2),
                        await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false)
                            ? null : await reader.GetFieldValueAsync<DateTimeOffset>(3, cancellationToken).ConfigureAwait(false),
                        await reader.GetFieldValueAsync<DateTimeOffset>(4, cancellationToken).ConfigureAwait(false)));
                }
            }
        }

        return rows;
    }

    /// <summary>Disposes the data source if the store created it (<see cref="Create"/>); otherwise a no-op.</summary>
    /// <returns>A task that completes when the pool is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        _schemaGate.Dispose();
    }

    private async Task EnsureSchemaAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_schemaReady)
        {
            return;
        }

        // The gate only avoids redundant DDL round trips inside this process; the advisory lock is what makes
        // concurrent first use by several processes safe.
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            // A table provisioned by the application's migrations needs no DDL, and a least-privilege role could not
            // run it anyway: CREATE … IF NOT EXISTS checks the CREATE privilege before it checks existence.
            using (var probe = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection))
            {
                probe.Parameters.Add(new NpgsqlParameter { Value = QualifiedTableName });
                if (await probe.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                {
                    _schemaReady = true;
                    return;
                }
            }

            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken)
                .ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // Serialised by the advisory lock, the second creator waits for the first to commit; its IF NOT EXISTS
                // then sees the committed catalog rows (catalog lookups do not use the transaction snapshot) and skips.
                using var batch = new NpgsqlBatch(connection, transaction);
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock({SchemaLockKey})"));
                if (_options.Schema is not null)
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand($"CREATE SCHEMA IF NOT EXISTS {Quote(_options.Schema)}"));
                }

                batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                    CREATE TABLE IF NOT EXISTS {QualifiedTableName} (
                        transactional_id text PRIMARY KEY,
                        prepared_txn_state text NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        lease_owner text,
                        lease_expires_at timestamptz
                    )
                    """));
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    /// <summary>Double-quotes an identifier already checked by <see cref="PostgreSqlDualWriteStoreOptions.Validate"/>
    /// (no quote can occur in it).</summary>
    private static string Quote(string identifier) => "\"" + identifier + "\"";
}
