using Lockstep.DualWrite.PostgreSql;
using Npgsql;

namespace Lockstep.DualWrite.Tests.PostgreSql;

/// <summary>
/// Store-level behaviour of <see cref="PostgreSqlDualWriteStore"/> that the provider-neutral scenarios cannot see:
/// the row lock really serialises two writers of one id (observed through pg_stat_activity, not timing), concurrent
/// first use creates the table exactly once, leases are atomic on the server's clock, and the committed-token read
/// sees committed data only. Each test uses its own schema on the PostgreSQL of $LOCKSTEP_POSTGRES.
/// </summary>
public sealed class PostgreSqlDualWriteStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PostgreSqlDualWriteStore CreateStore(string schema, string? connectionString = null) =>
        PostgreSqlDualWriteStore.Create(connectionString ?? PostgresTestServer.ConnectionString,
            new PostgreSqlDualWriteStoreOptions { Schema = schema });

    [Fact]
    public async Task LockState_second_writer_of_the_same_id_blocks_until_the_first_commits()
    {
        await using var store = CreateStore(PostgresTestServer.FreshSchema());
        await using var first = await store.BeginAsync(Ct);
        Assert.Equal(string.Empty, await first.LockStateAsync("tx-1", Ct));

        await using var second = await store.BeginAsync(Ct);
        var secondPid = ((NpgsqlConnection)((IDbDualWriteTransaction)second).Connection).ProcessID;
        var secondLock = second.LockStateAsync("tx-1", Ct).AsTask();

        // The server says the second backend waits on a lock held by the first: blocked, not merely slow.
        await WaitUntilWaitingOnLockAsync(store.DataSource, secondPid);
        Assert.False(secondLock.IsCompleted);

        await first.WriteTokenAsync("tx-1", "1000:7", Ct);
        await first.CommitAsync(Ct);

        // It then reads the first writer's committed token: the lock hands over the newest decision.
        Assert.Equal("1000:7", await secondLock.WaitAsync(TimeSpan.FromSeconds(30), Ct));
    }

    [Fact]
    public async Task LockState_writers_of_different_ids_do_not_block_each_other()
    {
        await using var store = CreateStore(PostgresTestServer.FreshSchema());
        await using var first = await store.BeginAsync(Ct);
        await first.LockStateAsync("tx-a", Ct);
        await using var second = await store.BeginAsync(Ct);
        // Completes while the first transaction still holds tx-a's lock (a block would hang until the test timeout).
        Assert.Equal(string.Empty, await second.LockStateAsync("tx-b", Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));
        await second.WriteTokenAsync("tx-b", "5:0", Ct);
        await second.CommitAsync(Ct);
        Assert.Equal("5:0", await store.ReadCommittedTokenAsync("tx-b", Ct));
    }

    [Fact]
    public async Task First_use_by_many_stores_at_once_creates_the_schema_and_table_once()
    {
        var schema = PostgresTestServer.FreshSchema();
        // Separate stores (separate pools), as separate processes would be: each runs the DDL of first use.
        var stores = Enumerable.Range(0, 8).Select(_ => CreateStore(schema)).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(async (store, i) =>
            {
                await using var transaction = await store.BeginAsync(Ct);
                await transaction.LockStateAsync("tx-" + i, Ct);
                await transaction.WriteTokenAsync("tx-" + i, i + ":0", Ct);
                await transaction.CommitAsync(Ct);
            }));

            var rows = await stores[0].ListStatesAsync(Ct);
            Assert.Equal(Enumerable.Range(0, 8).Select(i => "tx-" + i), rows.Select(r => r.TransactionalId));
            Assert.Equal(Enumerable.Range(0, 8).Select(i => i + ":0"), rows.Select(r => r.Token));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Default_options_resolve_the_table_through_the_search_path()
    {
        var schema = PostgresTestServer.FreshSchema();
        await using (var setup = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString))
        {
            await using var command = setup.CreateCommand($"CREATE SCHEMA {schema}");
            await command.ExecuteNonQueryAsync(Ct);
        }

        var builder = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { SearchPath = schema };
        await using var dataSource = NpgsqlDataSource.Create(builder);
        await using (var store = new PostgreSqlDualWriteStore(dataSource))
        {
            Assert.Equal("\"lockstep_txn_state\"", store.QualifiedTableName);
            Assert.True(await store.TryAcquireLeaseAsync("tx-1", "me", TimeSpan.FromMinutes(1), Ct));
        }

        // The store did not dispose the application's data source, and its table is in the search path's schema.
        await using var check = dataSource.CreateCommand(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'lockstep_txn_state'");
        check.Parameters.Add(new NpgsqlParameter { Value = schema });
        Assert.Equal(1L, await check.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task ReadCommittedToken_sees_only_committed_tokens()
    {
        await using var store = CreateStore(PostgresTestServer.FreshSchema());
        Assert.Null(await store.ReadCommittedTokenAsync("tx-1", Ct));

        await using (var transaction = await store.BeginAsync(Ct))
        {
            await transaction.LockStateAsync("tx-1", Ct);
            await transaction.WriteTokenAsync("tx-1", "42:1", Ct);
            // Uncommitted: a separate connection must not see the row at all.
            Assert.Null(await store.ReadCommittedTokenAsync("tx-1", Ct));
            await transaction.CommitAsync(Ct);
        }

        Assert.Equal("42:1", await store.ReadCommittedTokenAsync("tx-1", Ct));

        await using (var rolledBack = await store.BeginAsync(Ct))
        {
            Assert.Equal("42:1", await rolledBack.LockStateAsync("tx-1", Ct));
            await rolledBack.WriteTokenAsync("tx-1", "42:2", Ct);
            // Disposed without commit: rolled back.
        }

        Assert.Equal("42:1", await store.ReadCommittedTokenAsync("tx-1", Ct));
    }

    [Fact]
    public async Task Leases_are_exclusive_renewable_releasable_and_expire_on_the_server_clock()
    {
        await using var store = CreateStore(PostgresTestServer.FreshSchema());
        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "a", TimeSpan.FromMinutes(5), Ct));
        Assert.False(await store.TryAcquireLeaseAsync("tx-1", "b", TimeSpan.FromMinutes(5), Ct));
        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "a", TimeSpan.FromMinutes(5), Ct)); // renewal

        var row = Assert.Single(await store.ListStatesAsync(Ct));
        Assert.Equal(("tx-1", string.Empty, "a"), (row.TransactionalId, row.Token, row.LeaseOwner));
        Assert.NotNull(row.LeaseExpiresAt);
        Assert.True(row.LeaseExpiresAt > row.UpdatedAt.AddMinutes(4)); // both on the server's clock

        await store.ReleaseLeaseAsync("tx-1", "b", Ct); // not the owner: no effect
        Assert.False(await store.TryAcquireLeaseAsync("tx-1", "b", TimeSpan.FromMinutes(5), Ct));
        await store.ReleaseLeaseAsync("tx-1", "a", Ct);
        Assert.Null(Assert.Single(await store.ListStatesAsync(Ct)).LeaseOwner);
        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "b", TimeSpan.Zero, Ct));

        // A zero-length lease has expired by the next statement (lease_expires_at <= now()): a dead instance's id.
        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "c", TimeSpan.FromMinutes(5), Ct));
        Assert.Equal("c", Assert.Single(await store.ListStatesAsync(Ct)).LeaseOwner);
    }

    [Fact]
    public async Task Leases_race_for_an_expired_lease_has_exactly_one_winner()
    {
        await using var store = CreateStore(PostgresTestServer.FreshSchema());
        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "dead", TimeSpan.Zero, Ct));
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            store.TryAcquireLeaseAsync("tx-1", "owner-" + i, TimeSpan.FromMinutes(5), Ct).AsTask()));
        Assert.Single(results, won => won);
        var winner = "owner-" + Array.IndexOf(results, true);
        Assert.Equal(winner, Assert.Single(await store.ListStatesAsync(Ct)).LeaseOwner);
    }

    [Fact]
    public async Task Leases_do_not_touch_the_token_and_units_do_not_touch_the_lease()
    {
        await using var store = CreateStore(PostgresTestServer.FreshSchema());
        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "a", TimeSpan.FromMinutes(5), Ct));
        await using (var transaction = await store.BeginAsync(Ct))
        {
            await transaction.LockStateAsync("tx-1", Ct);
            await transaction.WriteTokenAsync("tx-1", "9:9", Ct);
            await transaction.CommitAsync(Ct);
        }

        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "a", TimeSpan.FromMinutes(5), Ct));
        var row = Assert.Single(await store.ListStatesAsync(Ct));
        Assert.Equal(("9:9", "a"), (row.Token, row.LeaseOwner));
    }

    [Fact]
    public async Task A_role_without_CREATE_privilege_works_on_a_table_provisioned_by_migrations()
    {
        var schema = PostgresTestServer.FreshSchema();
        var role = "r_" + schema;
        // Provision as the superuser (what a migration would do), then run the store as a role that may only use it.
        await using (var admin = CreateStore(schema))
        {
            await admin.ListStatesAsync(Ct);
            await using var grant = admin.DataSource.CreateCommand($"""
                CREATE ROLE {role} LOGIN;
                GRANT USAGE ON SCHEMA {schema} TO {role};
                GRANT SELECT, INSERT, UPDATE ON {schema}.lockstep_txn_state TO {role};
                """);
            await grant.ExecuteNonQueryAsync(Ct);
        }

        var restricted = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { Username = role };
        await using var store = CreateStore(schema, restricted.ConnectionString);
        await using (var transaction = await store.BeginAsync(Ct))
        {
            await transaction.LockStateAsync("tx-1", Ct);
            await transaction.WriteTokenAsync("tx-1", "3:4", Ct);
            await transaction.CommitAsync(Ct);
        }

        Assert.True(await store.TryAcquireLeaseAsync("tx-1", "me", TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("3:4", await store.ReadCommittedTokenAsync("tx-1", Ct));

        // The same role cannot create the table itself: the probe is what made first use work.
        await using var fresh = CreateStore(PostgresTestServer.FreshSchema(), restricted.ConnectionString);
        var denied = await Assert.ThrowsAsync<PostgresException>(async () => await fresh.ListStatesAsync(Ct));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, denied.SqlState);
    }

    [Theory]
    [InlineData("bad-name")]
    [InlineData("x\"; DROP TABLE y; --")]
    [InlineData("")]
    public void Options_reject_identifiers_that_would_need_escaping(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() =>
            new PostgreSqlDualWriteStore(NpgsqlDataSource.Create("Host=localhost"), new PostgreSqlDualWriteStoreOptions { Schema = name }));
        Assert.ThrowsAny<ArgumentException>(() =>
            new PostgreSqlDualWriteStore(NpgsqlDataSource.Create("Host=localhost"), new PostgreSqlDualWriteStoreOptions { TableName = name }));
    }

    [Fact]
    public async Task TableName_option_keeps_two_applications_apart_in_one_schema()
    {
        var schema = PostgresTestServer.FreshSchema();
        await using var billing = PostgreSqlDualWriteStore.Create(PostgresTestServer.ConnectionString,
            new PostgreSqlDualWriteStoreOptions { Schema = schema, TableName = "billing_txn_state" });
        await using var shipping = CreateStore(schema);
        Assert.True(await billing.TryAcquireLeaseAsync("tx-1", "billing", TimeSpan.FromMinutes(1), Ct));
        Assert.True(await shipping.TryAcquireLeaseAsync("tx-1", "shipping", TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("billing", Assert.Single(await billing.ListStatesAsync(Ct)).LeaseOwner);
        Assert.Equal("shipping", Assert.Single(await shipping.ListStatesAsync(Ct)).LeaseOwner);
    }

    /// <summary>Polls pg_stat_activity until backend <paramref name="pid"/> waits on a heavyweight lock (a row or
    /// transaction lock). The deadline only bounds a broken test; the assertion is the server's own report.</summary>
    internal static async Task WaitUntilWaitingOnLockAsync(NpgsqlDataSource dataSource, int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await using var command = dataSource.CreateCommand("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = pid });
            if (await command.ExecuteScalarAsync(Ct) as string == "Lock")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"backend {pid} never waited on a lock");
            await Task.Delay(20, Ct);
        }
    }
}
