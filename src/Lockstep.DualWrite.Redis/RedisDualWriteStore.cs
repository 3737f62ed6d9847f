using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace Lockstep.DualWrite.Redis;

/// <summary>
/// <see cref="IDualWriteStore"/> on Redis (StackExchange.Redis), the "NoSQL with multi-key atomic writes" shape of
/// dual-write.md §3: the prepared-transaction token of each transactional id lives in a hash
/// <c>{KeyPrefix}lockstep:txn:{id}</c> (fields <c>token</c>, <c>version</c>, <c>updated_at</c>, <c>lease_owner</c>,
/// <c>lease_expires_at</c>; times are Unix milliseconds of the Redis server's clock) and is written in the same
/// <c>MULTI</c>/<c>EXEC</c> as the application's keys, which the unit of work queues on
/// <see cref="RedisDualWriteTransaction.Transaction"/> (reached through <c>context.Redis()</c>).
/// </summary>
/// <remarks>
/// <para><b>Mutual exclusion is optimistic.</b> Redis has no row lock to hold across the Kafka prepare, so
/// <see cref="IDualWriteTransaction.LockStateAsync"/> atomically (one Lua script) creates the hash if missing,
/// increments <c>version</c> and returns the token and the new version: the unit's "lock ticket". The commit is an
/// <c>EXEC</c> guarded by <c>WATCH</c> + <c>HGET version</c> (<see cref="Condition.HashEqual"/>): it applies only if no
/// other writer locked or committed the id since. So the <em>latest</em> locker wins and any earlier one fails its
/// commit with <see cref="RedisDualWriteConflictException"/>; <see cref="DualWriter"/> then re-reads the committed
/// token, finds a token other than its own and aborts its Kafka transaction (outcome
/// <see cref="DualWriteOutcome.RolledBack"/>). Bumping the version when locking, rather than only reading it, is what
/// keeps the zombie row of the failure table safe: when instance B's recovery locks the id after taking over the
/// producer (fencing A), a unit of A that prepared earlier can no longer commit its token behind B's back — which would
/// leave the DB committed while B's recovery, having read the old token, aborts the Kafka transaction.</para>
/// <para>A second writer of the same id is therefore not blocked, only made to fail at commit. In practice two live
/// writers of one id do not coexist: the later <c>InitTransactions</c> fences the older producer (KIP-98 epoch), so a
/// zombie is stopped by Kafka before or at its prepare, and this check covers the remaining window.</para>
/// <para><b>Redis Cluster:</b> <c>MULTI</c>/<c>EXEC</c> needs every key of the transaction in one hash slot. Put a hash
/// tag in <see cref="RedisDualWriteStoreOptions.KeyPrefix"/> (e.g. <c>{orders}:</c>) and build the application's keys
/// with the same prefix (<see cref="RedisDualWriteTransaction.Key"/>), so the state hash and the data share a slot.
/// </para>
/// <para><b>Durability</b> is Redis's: the decision is only as durable as the server's persistence (AOF with
/// <c>appendfsync always</c> for the guarantees of an SQL store); a failover to a replica that missed the <c>EXEC</c>
/// loses the decision and recovery then aborts the Kafka side, losing events of a unit the application saw commit.
/// </para>
/// </remarks>
public sealed class RedisDualWriteStore : IDualWriteStore, IAsyncDisposable
{
    /// <summary>Creates the hash if missing, takes a new lock ticket (<c>version</c> + 1), returns {token, version}.
    /// TIME is allowed before writes in scripts since Redis 5 (effects replication).</summary>
    private const string LockScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          local t = redis.call('TIME')
          redis.call('HSET', KEYS[1], 'token', '', 'version', 0, 'updated_at', t[1] * 1000 + math.floor(t[2] / 1000))
        end
        local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
        return { redis.call('HGET', KEYS[1], 'token') or '', tostring(v) }
        """;

    /// <summary>Acquires or renews a lease on the server's clock: succeeds when there is no lease, it expired or
    /// ARGV[1] already holds it. Never touches <c>version</c>, so renewing a lease never fails an in-flight commit.
    /// </summary>
    private const string AcquireLeaseScript = """
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        local owner = redis.call('HGET', KEYS[1], 'lease_owner')
        local expires = tonumber(redis.call('HGET', KEYS[1], 'lease_expires_at'))
        if owner and owner ~= ARGV[1] and expires and expires > now then
          return 0
        end
        if redis.call('EXISTS', KEYS[1]) == 0 then
          redis.call('HSET', KEYS[1], 'token', '', 'version', 0, 'updated_at', now)
        end
        redis.call('HSET', KEYS[1], 'lease_owner', ARGV[1], 'lease_expires_at', now + tonumber(ARGV[2]))
        return 1
        """;

    private const string ReleaseLeaseScript = """
        if redis.call('HGET', KEYS[1], 'lease_owner') == ARGV[1] then
          redis.call('HDEL', KEYS[1], 'lease_owner', 'lease_expires_at')
          return 1
        end
        return 0
        """;

    private readonly RedisDualWriteStoreOptions _options;
    private readonly ConfigurationOptions? _configuration;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly string _statePrefix;
    private IConnectionMultiplexer? _multiplexer;
    private bool _ownsMultiplexer;
    private bool _disposed;

    /// <summary>Creates a store on a multiplexer the application owns (and disposes).</summary>
    /// <param name="multiplexer">The application's connection.</param>
    /// <param name="options">Key prefix and database; null for the defaults.</param>
    public RedisDualWriteStore(IConnectionMultiplexer multiplexer, RedisDualWriteStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        _multiplexer = multiplexer;
        _options = options ?? new RedisDualWriteStoreOptions();
        _statePrefix = _options.KeyPrefix + "lockstep:txn:";
    }

    /// <summary>
    /// Creates a store that connects on first use with a StackExchange.Redis configuration string (e.g.
    /// <c>localhost:6379,password=…</c>) and disposes that connection with the store. <c>abortConnect</c> is forced off
    /// so a Redis that is down at start-up is retried rather than failing the process.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string.</param>
    /// <param name="options">Key prefix and database; null for the defaults.</param>
    public RedisDualWriteStore(string configuration, RedisDualWriteStoreOptions? options = null)
        : this(ConfigurationOptions.Parse(configuration ?? throw new ArgumentNullException(nameof(configuration))), options)
    {
    }

    /// <summary>Creates a store that connects on first use with <paramref name="configuration"/> and disposes that
    /// connection with the store.</summary>
    /// <param name="configuration">The connection settings (copied; <c>AbortOnConnectFail</c> is forced off).</param>
    /// <param name="options">Key prefix and database; null for the defaults.</param>
    public RedisDualWriteStore(ConfigurationOptions configuration, RedisDualWriteStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _configuration = configuration.Clone();
        _configuration.AbortOnConnectFail = false;
        _options = options ?? new RedisDualWriteStoreOptions();
        _statePrefix = _options.KeyPrefix + "lockstep:txn:";
    }

    /// <summary>The prefix of every key this store writes; build the application's keys with it too
    /// (<see cref="RedisDualWriteTransaction.Key"/>) so they share a namespace and, with a hash tag, a cluster slot.
    /// </summary>
    public string KeyPrefix => _options.KeyPrefix;

    internal TimeProvider TimeProvider => _options.TimeProvider;

    /// <summary>The key of the state hash of <paramref name="transactionalId"/>:
    /// <c>{KeyPrefix}lockstep:txn:{transactionalId}</c>.</summary>
    /// <param name="transactionalId">The Kafka transactional id.</param>
    /// <returns>The key.</returns>
    public RedisKey StateKey(string transactionalId)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        return _statePrefix + transactionalId;
    }

    /// <summary>The database the store uses (connecting first if the store owns the connection). Handy for the
    /// application's reads; writes that must be atomic with the events go through the unit's transaction instead.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>The database.</returns>
    public async Task<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken = default) =>
        (await GetMultiplexerAsync(cancellationToken).ConfigureAwait(false)).GetDatabase(_options.Database);

    /// <inheritdoc/>
    /// <remarks>Nothing is sent to Redis here: the returned transaction buffers commands on the client until
    /// <see cref="IDualWriteTransaction.CommitAsync"/>, so disposing it without committing leaves no trace.</remarks>
    public async ValueTask<IDualWriteTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        var database = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        return new RedisDualWriteTransaction(this, database);
    }

    /// <inheritdoc/>
    public async ValueTask<string?> ReadCommittedTokenAsync(string transactionalId, CancellationToken cancellationToken)
    {
        var database = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        var token = await WrapAsync(database.HashGetAsync(StateKey(transactionalId), "token"), transactionalId, "read the token of")
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return token.IsNull ? null : token.ToString();
    }

    /// <inheritdoc/>
    /// <remarks>One Lua script on the server's clock (<c>TIME</c>), so instances on machines with skewed clocks agree on
    /// expiry and of two instances racing for an expired lease exactly one wins (scripts run atomically).</remarks>
    public async ValueTask<bool> TryAcquireLeaseAsync(
        string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        var database = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        var result = await WrapAsync(database.ScriptEvaluateAsync(AcquireLeaseScript, [StateKey(transactionalId)],
                [owner, (long)Math.Ceiling(duration.TotalMilliseconds)]), transactionalId, "acquire the lease of")
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <inheritdoc/>
    public async ValueTask ReleaseLeaseAsync(string transactionalId, string owner, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var database = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        await WrapAsync(database.ScriptEvaluateAsync(ReleaseLeaseScript, [StateKey(transactionalId)], [owner]),
            transactionalId, "release the lease of").WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    /// <remarks>Scans (<c>SCAN MATCH</c>, never <c>KEYS</c>) every primary for <c>{KeyPrefix}lockstep:txn:*</c>, then reads
    /// each hash. A hash created or deleted during the scan may or may not be listed (SCAN's guarantee).</remarks>
    public async ValueTask<IReadOnlyList<DualWriteStateRow>> ListStatesAsync(CancellationToken cancellationToken)
    {
        var multiplexer = await GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
        var database = multiplexer.GetDatabase(_options.Database);
        var pattern = EscapeGlob(_statePrefix) + "*";
        var keys = new List<RedisKey>();
        foreach (var server in multiplexer.GetServers())
        {
            // A disconnected primary is not skipped: its KeysAsync throws, so a caller never mistakes "unreachable" for
            // "no states".
            if (server.IsReplica)
            {
                continue;
            }

            await foreach (var key in server.KeysAsync(database.Database, pattern, pageSize: 500)
                .WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(key);
            }
        }

        var reads = new List<(RedisKey Key, Task<HashEntry[]> Fields)>(keys.Count);
        foreach (var key in keys)
        {
            reads.Add((key, database.HashGetAllAsync(key)));
        }

        var rows = new List<DualWriteStateRow>(keys.Count);
        foreach (var (key, fields) in reads)
        {
            var entries = await fields.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (entries.Length != 0)
            {
                rows.Add(ToRow(((string)key!)[_statePrefix.Length..], entries));
            }
        }

        rows.Sort((a, b) => string.CompareOrdinal(a.TransactionalId, b.TransactionalId));
        return rows;
    }

    /// <summary>Disposes the connection if the store created it (a multiplexer passed in stays the caller's).</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsMultiplexer && _multiplexer is not null)
        {
            await _multiplexer.DisposeAsync().ConfigureAwait(false);
        }

        _connectGate.Dispose();
    }

    internal static async Task<(string Token, long Version)> LockAsync(
        IDatabaseAsync database, RedisKey key, string transactionalId, CancellationToken cancellationToken)
    {
        var result = await WrapAsync(database.ScriptEvaluateAsync(LockScript, [key]), transactionalId, "lock the state of")
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        return (parts[0].ToString(), long.Parse(parts[1].ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture));
    }

    private async Task<IConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_multiplexer is { } existing)
        {
            return existing;
        }

        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_multiplexer is null)
            {
                _multiplexer = await ConnectionMultiplexer.ConnectAsync(_configuration!).ConfigureAwait(false);
                _ownsMultiplexer = true;
            }

            return _multiplexer;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>Turns StackExchange.Redis failures into <see cref="RedisDualWriteException"/> (a
    /// <see cref="System.Data.Common.DbException"/>), which <see cref="DualWriter"/> reports as a store failure with an
    /// outcome instead of passing it through as if the application had thrown it.</summary>
    internal static async Task<T> WrapAsync<T>(Task<T> operation, string transactionalId, string what)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (RedisException error)
        {
            throw new RedisDualWriteException($"Could not {what} '{transactionalId}' in Redis: {error.Message}", error);
        }
    }

    private static DualWriteStateRow ToRow(string transactionalId, HashEntry[] entries)
    {
        var token = string.Empty;
        string? owner = null;
        DateTimeOffset? expires = null;
        var updated = DateTimeOffset.UnixEpoch;
        foreach (var entry in entries)
        {
            switch ((string?)entry.Name)
            {
                case "token":
                    token = entry.Value.ToString();
                    break;
                case "lease_owner":
                    owner = entry.Value.ToString();
                    break;
                case "lease_expires_at":
                    expires = DateTimeOffset.FromUnixTimeMilliseconds((long)entry.Value);
                    break;
                case "updated_at":
                    updated = DateTimeOffset.FromUnixTimeMilliseconds((long)entry.Value);
                    break;
                default:
                    break;
            }
        }

        return new DualWriteStateRow(transactionalId, token, owner, expires, updated);
    }

    /// <summary>Escapes Redis glob metacharacters so a prefix like <c>{app}[1]:</c> matches only itself.</summary>
    private static string EscapeGlob(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}

/// <summary>Settings of <see cref="RedisDualWriteStore"/>.</summary>
public sealed class RedisDualWriteStoreOptions
{
    /// <summary>Prepended to every key the store writes (default empty): <c>{KeyPrefix}lockstep:txn:{id}</c>. Use it to
    /// share a server between applications, and put a Redis Cluster hash tag in it (<c>{app}:</c>) so the state hashes
    /// and the application's keys built with the same prefix land in one slot, as <c>MULTI</c>/<c>EXEC</c> requires.
    /// </summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>The logical database number (<c>SELECT</c>); -1, the default, is the connection's default database.
    /// </summary>
    public int Database { get; set; } = -1;

    /// <summary>The clock for <c>updated_at</c> when a token is written (a command queued in <c>MULTI</c> cannot read
    /// the server's <c>TIME</c>); informational only — leases use the server's clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
