using Lockstep.Cli.Demo;
using Lockstep.DualWrite.Redis;
using StackExchange.Redis;

namespace Lockstep.DualWrite.Tests.Redis;

/// <summary>
/// Goal: <see cref="RedisDualWriteStore"/> keeps the promises of <see cref="IDualWriteStore"/> with Redis's primitives —
/// the optimistic check lets exactly one of two racing writers of an id commit, an uncommitted transaction writes
/// nothing, and the lease scripts (server clock) acquire, renew, expire, release and arbitrate races. Method: the store
/// directly against the Redis server of $LOCKSTEP_REDIS, one fresh key prefix per test, checked through an independent
/// connection.
/// </summary>
public sealed class RedisDualWriteStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lock_creates_the_state_hash_and_each_lock_takes_a_new_version()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        var key = world.Store.StateKey("txn-a");
        Assert.Equal(world.Prefix + "lockstep:txn:txn-a", key.ToString());
        Assert.Null(await world.Store.ReadCommittedTokenAsync("txn-a", Ct));

        await using (var first = await world.Store.BeginAsync(Ct))
        {
            Assert.Equal(string.Empty, await first.LockStateAsync("txn-a", Ct));
        }

        // The hash exists with an empty token although the transaction was never committed: the Lua script created it.
        Assert.Equal(string.Empty, await world.Store.ReadCommittedTokenAsync("txn-a", Ct));
        Assert.Equal(1, (long)await world.Keys.HashGetAsync(key, "version"));

        await using (var second = await world.Store.BeginAsync(Ct))
        {
            await second.LockStateAsync("txn-a", Ct);
            await second.WriteTokenAsync("txn-a", "7:0", Ct);
            // Queued only: nothing reaches Redis before the commit.
            Assert.Equal(string.Empty, (string?)await world.Keys.HashGetAsync(key, "token"));
            await second.CommitAsync(Ct);
        }

        Assert.Equal("7:0", await world.Store.ReadCommittedTokenAsync("txn-a", Ct));
        Assert.Equal(3, (long)await world.Keys.HashGetAsync(key, "version")); // lock 1, lock 2, commit
    }

    [Fact]
    public async Task Uncommitted_transaction_writes_nothing()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        await using (var transaction = (RedisDualWriteTransaction)await world.Store.BeginAsync(Ct))
        {
            await transaction.LockStateAsync("txn-a", Ct);
            _ = transaction.Transaction.StringSetAsync(transaction.Key("data"), "x");
            await transaction.WriteTokenAsync("txn-a", "7:0", Ct);
        }

        Assert.False(await world.Keys.KeyExistsAsync(world.Prefix + "data"));
        Assert.Equal(string.Empty, await world.Store.ReadCommittedTokenAsync("txn-a", Ct));
    }

    [Fact]
    public async Task Of_two_interleaved_writers_of_one_id_only_the_later_locker_commits()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        var a = (RedisDualWriteTransaction)await world.Store.BeginAsync(Ct);
        var b = (RedisDualWriteTransaction)await world.Store.BeginAsync(Ct);
        await a.LockStateAsync("txn-a", Ct);
        await b.LockStateAsync("txn-a", Ct);
        _ = a.Transaction.StringSetAsync(a.Key("data-a"), "a");
        _ = b.Transaction.StringSetAsync(b.Key("data-b"), "b");
        await a.WriteTokenAsync("txn-a", "1:0", Ct);
        await b.WriteTokenAsync("txn-a", "2:0", Ct);

        // A locked first: B's lock moved the version on, so A's EXEC is refused whole (data and token).
        var conflict = await Assert.ThrowsAsync<RedisDualWriteConflictException>(async () => await a.CommitAsync(Ct));
        Assert.Equal("txn-a", conflict.TransactionalId);
        Assert.True(conflict.StateChanged);
        await b.CommitAsync(Ct);

        Assert.Equal("2:0", await world.Store.ReadCommittedTokenAsync("txn-a", Ct));
        Assert.False(await world.Keys.KeyExistsAsync(world.Prefix + "data-a"));
        Assert.Equal("b", (string?)await world.Keys.StringGetAsync(world.Prefix + "data-b"));
        await a.DisposeAsync();
        await b.DisposeAsync();
    }

    [Fact]
    public async Task A_commit_after_another_writer_committed_the_id_is_refused()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        await using var a = await world.Store.BeginAsync(Ct);
        await a.LockStateAsync("txn-a", Ct);
        await a.WriteTokenAsync("txn-a", "1:0", Ct);

        // B: a whole lock-write-commit in between (e.g. another instance's unit or recovery).
        await using (var b = await world.Store.BeginAsync(Ct))
        {
            await b.LockStateAsync("txn-a", Ct);
            await b.WriteTokenAsync("txn-a", "2:0", Ct);
            await b.CommitAsync(Ct);
        }

        await Assert.ThrowsAsync<RedisDualWriteConflictException>(async () => await a.CommitAsync(Ct));
        Assert.Equal("2:0", await world.Store.ReadCommittedTokenAsync("txn-a", Ct));
    }

    [Fact]
    public async Task Concurrent_writers_of_one_id_exactly_one_commit_applies()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        const int writers = 6;
        using var allLocked = new Barrier(writers);
        var results = await Task.WhenAll(Enumerable.Range(1, writers).Select(i => Task.Run(async () =>
        {
            await using var transaction = (RedisDualWriteTransaction)await world.Store.BeginAsync(Ct);
            await transaction.LockStateAsync("txn-a", Ct);
            _ = transaction.Transaction.SetAddAsync(transaction.Key("writers"), i);
            await transaction.WriteTokenAsync("txn-a", $"{i}:0", Ct);
            allLocked.SignalAndWait(Ct); // every writer holds a ticket before anyone commits
            try
            {
                await transaction.CommitAsync(Ct);
                return i;
            }
            catch (RedisDualWriteConflictException)
            {
                return 0;
            }
        }, Ct)));

        var winners = results.Where(i => i != 0).ToList();
        Assert.Single(winners);
        Assert.Equal($"{winners[0]}:0", await world.Store.ReadCommittedTokenAsync("txn-a", Ct));
        Assert.Equal([winners[0]], (await world.Keys.SetMembersAsync(world.Prefix + "writers")).Select(v => (int)v));
    }

    [Fact]
    public async Task Lease_is_acquired_renewed_refused_to_others_and_released()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        var store = world.Store;
        Assert.True(await store.TryAcquireLeaseAsync("txn-a", "owner-1", TimeSpan.FromMinutes(1), Ct));
        var first = Assert.Single(await store.ListStatesAsync(Ct));
        Assert.Equal("owner-1", first.LeaseOwner);
        Assert.Equal(string.Empty, first.Token); // the script created the state hash

        Assert.False(await store.TryAcquireLeaseAsync("txn-a", "owner-2", TimeSpan.FromMinutes(1), Ct));
        Assert.True(await store.TryAcquireLeaseAsync("txn-a", "owner-1", TimeSpan.FromMinutes(5), Ct));
        var renewed = Assert.Single(await store.ListStatesAsync(Ct));
        Assert.True(renewed.LeaseExpiresAt > first.LeaseExpiresAt);

        // Releasing by a non-owner is a no-op; by the owner frees the id at once.
        await store.ReleaseLeaseAsync("txn-a", "owner-2", Ct);
        Assert.Equal("owner-1", Assert.Single(await store.ListStatesAsync(Ct)).LeaseOwner);
        await store.ReleaseLeaseAsync("txn-a", "owner-1", Ct);
        var released = Assert.Single(await store.ListStatesAsync(Ct));
        Assert.Null(released.LeaseOwner);
        Assert.Null(released.LeaseExpiresAt);
        Assert.True(await store.TryAcquireLeaseAsync("txn-a", "owner-2", TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Expired_lease_can_be_taken_over()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        Assert.True(await world.Store.TryAcquireLeaseAsync("txn-a", "owner-1", TimeSpan.FromMilliseconds(100), Ct));
        // Wait until the server's own clock is past the expiry (no assumption about how long that takes).
        var expires = Assert.Single(await world.Store.ListStatesAsync(Ct)).LeaseExpiresAt!.Value;
        while (await ServerNowAsync(world) <= expires)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True(await world.Store.TryAcquireLeaseAsync("txn-a", "owner-2", TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("owner-2", Assert.Single(await world.Store.ListStatesAsync(Ct)).LeaseOwner);
        // The former owner cannot renew what it lost.
        Assert.False(await world.Store.TryAcquireLeaseAsync("txn-a", "owner-1", TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Of_instances_racing_for_a_lease_exactly_one_wins()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        for (var round = 0; round < 5; round++)
        {
            var id = "txn-" + round;
            var wins = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                world.Store.TryAcquireLeaseAsync(id, "owner-" + i, TimeSpan.FromMinutes(1), Ct).AsTask()));
            Assert.Equal(1, wins.Count(w => w));
            var winner = "owner-" + Array.IndexOf(wins, true);
            Assert.Equal(winner, (await world.Store.ListStatesAsync(Ct)).Single(r => r.TransactionalId == id).LeaseOwner);
        }
    }

    [Fact]
    public async Task Lease_renewal_never_fails_an_in_flight_commit()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        await using var transaction = await world.Store.BeginAsync(Ct);
        await transaction.LockStateAsync("txn-a", Ct);
        await transaction.WriteTokenAsync("txn-a", "1:0", Ct);
        Assert.True(await world.Store.TryAcquireLeaseAsync("txn-a", "owner-1", TimeSpan.FromMinutes(1), Ct));
        await transaction.CommitAsync(Ct);
        var row = Assert.Single(await world.Store.ListStatesAsync(Ct));
        Assert.Equal(("1:0", "owner-1"), (row.Token, row.LeaseOwner));
    }

    [Fact]
    public async Task ListStates_sees_only_its_own_prefix()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        await using var neighbour = await RedisTestWorld.StartAsync(withBroker: false);
        foreach (var id in new[] { "b", "a", "c" })
        {
            await using var transaction = await world.Store.BeginAsync(Ct);
            await transaction.LockStateAsync(id, Ct);
            await transaction.WriteTokenAsync(id, "9:" + id.Length, Ct);
            await transaction.CommitAsync(Ct);
        }

        Assert.True(await neighbour.Store.TryAcquireLeaseAsync("a", "other", TimeSpan.FromMinutes(1), Ct));
        var rows = await world.Store.ListStatesAsync(Ct);
        Assert.Equal(["a", "b", "c"], rows.Select(r => r.TransactionalId));
        Assert.All(rows, r => Assert.Equal(("9:1", null), (r.Token, r.LeaseOwner)));
        Assert.Equal("a", Assert.Single(await neighbour.Store.ListStatesAsync(Ct)).TransactionalId);
    }

    [Fact]
    public async Task Store_on_the_applications_multiplexer_leaves_it_open_and_matches_its_prefix_literally()
    {
        await using var world = await RedisTestWorld.StartAsync(withBroker: false);
        // Glob metacharacters and a cluster hash tag in the prefix; the neighbour's prefix would match it as a pattern.
        var prefix = world.Prefix + "{app}[1]*:";
        var neighbourPrefix = world.Prefix + "{app}1x:";
        var store = new RedisDualWriteStore(world.Observer, new RedisDualWriteStoreOptions { KeyPrefix = prefix });
        await using (var neighbour = new RedisDualWriteStore(world.Observer, new RedisDualWriteStoreOptions { KeyPrefix = neighbourPrefix }))
        {
            Assert.True(await store.TryAcquireLeaseAsync("a", "me", TimeSpan.FromMinutes(1), Ct));
            Assert.True(await neighbour.TryAcquireLeaseAsync("b", "me", TimeSpan.FromMinutes(1), Ct));
            Assert.Equal("a", Assert.Single(await store.ListStatesAsync(Ct)).TransactionalId);
        }

        await store.DisposeAsync();
        // The application owns the multiplexer: still usable after both stores were disposed.
        Assert.True(world.Observer.IsConnected);
        Assert.True(await world.Keys.KeyExistsAsync(prefix + "lockstep:txn:a"));
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6390", "redis://127.0.0.1:6390/lockstep-r1:")]
    [InlineData("redis://127.0.0.1:6390/app:", "redis://127.0.0.1:6390/lockstep-r1:")]
    [InlineData("rediss://cache.example:6380/{app}:", "rediss://cache.example:6380/lockstep-r1:")]
    [InlineData("redis://:secret@127.0.0.1:6390/x", "redis://:secret@127.0.0.1:6390/lockstep-r1:")]
    public async Task Spec_isolation_replaces_the_key_prefix(string spec, string isolated)
    {
        Assert.Equal(isolated, OrderDatabases.Isolate(spec, "r1"));
        await using var database = OrderDatabases.Open(isolated);
        Assert.IsType<RedisOrderDatabase>(database);
        Assert.Equal(isolated, database.WorkerSpec);
        Assert.Contains("key prefix 'lockstep-r1:'", database.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", database.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Spec_that_is_not_a_redis_uri_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => RedisOrderDatabase.Open("redis://"));
    }

    private static async Task<DateTimeOffset> ServerNowAsync(RedisTestWorld world)
    {
        var time = (RedisResult[])(await world.Keys.ExecuteAsync("TIME"))!;
        return DateTimeOffset.FromUnixTimeMilliseconds(((long)time[0] * 1000) + ((long)time[1] / 1000));
    }
}
