using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;

namespace Lockstep.DualWrite.Sqlite;

/// <summary>
/// <see cref="IDualWriteStore"/> on SQLite (Microsoft.Data.Sqlite). The tokens live in
/// <c>lockstep_txn_state(transactional_id TEXT PRIMARY KEY, prepared_txn_state TEXT NOT NULL, updated_at INTEGER NOT
/// NULL, lease_owner TEXT, lease_expires_at INTEGER)</c> in the application's database, created on first use (times
/// are Unix milliseconds of <see cref="SqliteDualWriteStoreOptions.TimeProvider"/>: SQLite has no server clock, so
/// instances sharing a file share a machine and its clock).
/// </summary>
/// <remarks>
/// SQLite has no row locks: the write transaction itself is the lock (dual-write.md §3). Each transaction starts with
/// <c>BEGIN IMMEDIATE</c>, which takes the database's single RESERVED lock up front, so two writers of the same id (or
/// of any id) are serialised; a waiting writer retries for <see cref="SqliteDualWriteStoreOptions.BusyTimeout"/>.
/// The database runs in WAL mode so readers (including <see cref="ReadCommittedTokenAsync"/>) never block on the
/// writer. A process killed mid-transaction leaves nothing behind: SQLite discards the uncommitted WAL frames.
/// </remarks>
public sealed class SqliteDualWriteStore : IDualWriteStore
{
    private const string CreateSchemaSql = """
        CREATE TABLE IF NOT EXISTS lockstep_txn_state (
            transactional_id TEXT PRIMARY KEY,
            prepared_txn_state TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            lease_owner TEXT,
            lease_expires_at INTEGER
        );
        """;

    private readonly string _connectionString;
    private readonly SqliteDualWriteStoreOptions _options;
    private volatile bool _schemaReady;

    /// <summary>Creates the store; the schema and WAL mode are set up on first use.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=app.db</c>.
    /// </param>
    /// <param name="options">Timeouts and clock; null for the defaults.</param>
    public SqliteDualWriteStore(string connectionString, SqliteDualWriteStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _options = options ?? new SqliteDualWriteStoreOptions();
        // Pooling off: a connection that was open when a commit failed must not come back from the pool with a
        // half-finished transaction; opening a SQLite file is cheap.
        _connectionString = new SqliteConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds),
        }.ToString();
    }

    /// <summary>Creates a store on the database file at <paramref name="path"/> (created if missing).</summary>
    /// <param name="path">The SQLite database file.</param>
    /// <param name="options">Timeouts and clock; null for the defaults.</param>
    /// <returns>The store.</returns>
    public static SqliteDualWriteStore ForFile(string path, SqliteDualWriteStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new SqliteDualWriteStore(
            new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate }.ToString(), options);
    }

    /// <summary>The effective connection string (pooling off, busy timeout applied); use it for the application's
    /// own connections too.</summary>
    public string ConnectionString => _connectionString;

    /// <summary>
    /// Opens a connection with WAL mode and the busy timeout, creating the state table on the first call. Also useful
    /// to the application for reading its own tables.
    /// </summary>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open connection; dispose it.</returns>
    public async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // busy_timeout makes SQLite itself wait for a competing writer's lock (BEGIN IMMEDIATE, COMMIT) rather than
            // fail with SQLITE_BUSY at once; Microsoft.Data.Sqlite's command timeout covers the remaining cases.
            await ExecuteAsync(connection, null, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds};"), cancellationToken).ConfigureAwait(false);
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
            // deferred: false is BEGIN IMMEDIATE: the write lock is taken now, so the state row is "locked" from the
            // start of the unit and a competing writer waits here rather than failing at its first write.
            var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(
                System.Data.IsolationLevel.Serializable, cancellationToken).ConfigureAwait(false);
            return new SqliteDualWriteTransaction(connection, transaction, _options.TimeProvider);
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
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT prepared_txn_state FROM lockstep_txn_state WHERE transactional_id = $id;";
            command.Parameters.AddWithValue("$id", transactionalId);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> TryAcquireLeaseAsync(
        string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One statement, so SQLite's write lock makes it atomic: of two instances racing for an expired lease the
            // second finds lease_owner already changed and its DO UPDATE … WHERE matches nothing (0 rows changed).
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO lockstep_txn_state (transactional_id, prepared_txn_state, updated_at, lease_owner, lease_expires_at)
                VALUES ($id, '', $now, $owner, $expires)
                ON CONFLICT (transactional_id) DO UPDATE SET lease_owner = $owner, lease_expires_at = $expires
                WHERE lease_owner IS NULL OR lease_owner = $owner OR lease_expires_at IS NULL OR lease_expires_at <= $now;
                """;
            command.Parameters.AddWithValue("$id", transactionalId);
            command.Parameters.AddWithValue("$owner", owner);
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$expires", now + (long)duration.TotalMilliseconds);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
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
            using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE lockstep_txn_state SET lease_owner = NULL, lease_expires_at = NULL
                WHERE transactional_id = $id AND lease_owner = $owner;
                """;
            command.Parameters.AddWithValue("$id", transactionalId);
            command.Parameters.AddWithValue("$owner", owner);
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
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT transactional_id, prepared_txn_state, lease_owner, lease_expires_at, updated_at
                FROM lockstep_txn_state ORDER BY transactional_id;
                """;
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(new DualWriteStateRow(
                        reader.GetString(0),
                        reader.GetString(1),
                        await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? null : reader.GetString(2),
                        await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
                }
            }
        }

        return rows;
    }

    private async Task EnsureSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        if (_schemaReady)
        {
            return;
        }

        // Idempotent statements, so two connections racing through here on first use is harmless.
        // journal_mode=WAL is persistent in the file; setting it again is a cheap no-op.
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, CreateSchemaSql, cancellationToken).ConfigureAwait(false);
        await AddLeaseColumnsIfMissingAsync(connection, cancellationToken).ConfigureAwait(false);
        _schemaReady = true;
    }

    /// <summary>Files created by Lockstep 0.1 have no lease columns; add them (ALTER TABLE ADD COLUMN is O(1) in SQLite).
    /// </summary>
    private static async Task AddLeaseColumnsIfMissingAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using var probe = connection.CreateCommand();
        probe.CommandText = "SELECT COUNT(*) FROM pragma_table_info('lockstep_txn_state') WHERE name = 'lease_owner';";
        if (Convert.ToInt64(await probe.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) != 0)
        {
            return;
        }

        try
        {
            await ExecuteAsync(connection, null,
                "ALTER TABLE lockstep_txn_state ADD COLUMN lease_owner TEXT; ALTER TABLE lockstep_txn_state ADD COLUMN lease_expires_at INTEGER;",
                cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e) when (e.Message.Contains("duplicate column", StringComparison.OrdinalIgnoreCase))
        {
            // Another connection migrated the file first.
        }
    }

    internal static async Task ExecuteAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Settings of <see cref="SqliteDualWriteStore"/>.</summary>
public sealed class SqliteDualWriteStoreOptions
{
    /// <summary>How long a writer waits for another writer's lock before failing (SQLite <c>busy_timeout</c>).
    /// Must exceed the longest unit of work, which holds the lock across the Kafka prepare. Default 30 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for <c>updated_at</c> (Unix milliseconds).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>One <c>BEGIN IMMEDIATE</c> transaction on its own connection.</summary>
internal sealed class SqliteDualWriteTransaction(SqliteConnection connection, SqliteTransaction transaction, TimeProvider time)
    : IDbDualWriteTransaction
{
    private bool _disposed;

    public DbConnection Connection => connection;

    public DbTransaction Transaction => transaction;

    public async ValueTask<string> LockStateAsync(string transactionalId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        // The lock is already held (BEGIN IMMEDIATE); insert the row if missing so step 6 can simply update it.
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO lockstep_txn_state (transactional_id, prepared_txn_state, updated_at)
                VALUES ($id, '', $now) ON CONFLICT (transactional_id) DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$id", transactionalId);
            insert.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT prepared_txn_state FROM lockstep_txn_state WHERE transactional_id = $id;";
        select.Parameters.AddWithValue("$id", transactionalId);
        return await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string ?? string.Empty;
    }

    public async ValueTask WriteTokenAsync(string transactionalId, string token, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        ArgumentNullException.ThrowIfNull(token);
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = """
            UPDATE lockstep_txn_state SET prepared_txn_state = $token, updated_at = $now WHERE transactional_id = $id;
            """;
        update.Parameters.AddWithValue("$id", transactionalId);
        update.Parameters.AddWithValue("$token", token);
        update.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
        if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            // LockStateAsync created the row in this transaction; its absence means the caller skipped step 2.
            throw new InvalidOperationException($"No state row for '{transactionalId}': lock it (step 2) first.");
        }
    }

    public ValueTask CommitAsync(CancellationToken cancellationToken) =>
        new(transaction.CommitAsync(cancellationToken));

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Disposing an uncommitted SqliteTransaction rolls it back.
        await transaction.DisposeAsync().ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
