namespace Lockstep.DualWrite.Tests.Pool;

/// <summary>
/// Goal: scale-out across instances (dual-write.md §2, issue 6 "a second instance taking over a dead instance's ids;
/// two instances configured with the same id") keeps the recipe's guarantee on every store. Method: pools sharing an id
/// space on one store and one embedded broker; an instance "dies" (observer throws after the DB commit, then the pool is
/// abandoned without releasing its leases) leaving a transaction prepared in Kafka and committed in the DB; a second
/// instance must take its ids over once the leases expire and recover them; an id whose renewal fails must leave the
/// pool and its slot be refilled from a free id. The comparison is always committed rows
/// versus what a read_committed consumer sees: same set, each event exactly once.
/// </summary>
public sealed class PoolScaleOutTests
{
    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Second_instance_takes_over_a_dead_instances_ids_and_commits_what_it_left_prepared(StoreKind kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await PoolWorld.StartAsync(kind);
        var prefix = PoolWorld.UniquePrefix("takeover");
        using var metrics = new DualWriteMetricsRecorder(prefix);
        var crash = new CrashAfterStep(DualWriteStep.CommitDatabase);
        var lease = TimeSpan.FromSeconds(2);

        var dead = new DualWriterPool(world.Store, world.PoolOptions(prefix, poolSize: 2, totalIds: 2, instanceId: "dead",
            leaseDuration: lease, observer: crash));
        await dead.StartAsync(ct);
        Assert.Equal([prefix + "-0", prefix + "-1"], dead.TransactionalIds);
        for (var order = 1; order <= 4; order++)
        {
            var id = order;
            await dead.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, id, token), ct);
        }

        crash.Armed = true;
        var crashed = await Assert.ThrowsAsync<InjectedCrashException>(
            () => dead.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, 5, token), ct));
        Assert.Contains(5, await world.ReadRowsAsync()); // The DB committed order 5; its events are only prepared.
        Assert.True(metrics.ObserveOldestPreparedAge() > 0, "the gauge must report the transaction left prepared");
        await dead.AbandonAsync(); // Dies: producers gone, leases left to expire, order 5 prepared on the broker.

        await using var taker = new DualWriterPool(world.Store, world.PoolOptions(prefix, poolSize: 1, totalIds: 2,
            instanceId: "taker", leaseDuration: lease, scanInterval: TimeSpan.FromMilliseconds(200)));
        await taker.StartAsync(ct);

        // Once the dead instance's leases expire the taker acquires both ids, recovers them (committing order 5 from the
        // DB's decision), keeps one (PoolSize 1) and releases the other.
        Assert.True(await PoolWorld.EventuallyAsync(async () =>
        {
            var owners = (await world.StatesAsync(prefix)).Select(r => r.LeaseOwner).ToList();
            return owners.Count == 2 && owners.Count(o => o == "taker") == 1 && owners.Count(o => o is null) == 1;
        }), "the taker did not take over the dead instance's ids");
        Assert.Contains((crashed.TransactionalId, "committed"), metrics.Recoveries);
        var states = await world.StatesAsync(prefix);
        Assert.Equal(1, states.Count(r => r.LeaseOwner == "taker"));
        Assert.Equal(1, states.Count(r => r.LeaseOwner is null));
        Assert.Single(taker.TransactionalIds);

        await taker.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, 6, token), ct);
        await world.AssertRowsEqualEventsAsync(expectedCount: 6);
    }

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Two_instances_configured_with_the_same_id_fence_the_zombie_and_lose_nothing(StoreKind kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await PoolWorld.StartAsync(kind);
        var prefix = PoolWorld.UniquePrefix("zombie");
        using var metrics = new DualWriteMetricsRecorder(prefix);
        // Misconfiguration the library cannot prevent: two lease-less instances own the same id.
        await using var zombie = new DualWriterPool(world.Store, world.PoolOptions(prefix, poolSize: 1, useLeases: false));
        await using var successor = new DualWriterPool(world.Store, world.PoolOptions(prefix, poolSize: 1, useLeases: false));
        await zombie.StartAsync(ct);

        // The zombie keeps placing orders while the successor starts; its first unit after the successor's
        // InitTransactions is fenced, at whichever step that happens.
        var succeeded = new List<int>();
        var threeDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var zombieLoop = Task.Run(async () =>
        {
            for (var order = 1; order < 1000; order++)
            {
                try
                {
                    var id = order;
                    await zombie.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, id, token), ct);
                    succeeded.Add(order);
                    if (succeeded.Count == 3)
                    {
                        threeDone.SetResult();
                    }
                }
                catch (DualWriterFencedException fenced)
                {
                    return (order, fenced);
                }
            }

            throw new InvalidOperationException("the zombie was never fenced");
        }, ct);
        await threeDone.Task.WaitAsync(ct);
        await successor.StartAsync(ct);
        var (fencedOrder, exception) = await zombieLoop;

        Assert.Equal(prefix + "-0", exception.TransactionalId);
        Assert.Contains(metrics.Measurements, m => m.Instrument == Diagnostics.DualWriteTelemetry.Fenced);
        // Fenced for good: every id of the zombie's pool is gone, so it refuses further units.
        await Assert.ThrowsAsync<InvalidOperationException>(
            () => zombie.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, 100_000, token), ct));
        Assert.Empty(zombie.TransactionalIds);

        for (var order = 2000; order < 2003; order++)
        {
            var id = order;
            await successor.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, id, token), ct);
        }

        var rows = await world.ReadRowsAsync();
        // The fenced unit exists iff the fence hit after its DB commit (then the successor committed it in Kafka).
        Assert.Equal(exception.Outcome == DualWriteOutcome.Committed, rows.Contains(fencedOrder));
        Assert.NotEqual(DualWriteOutcome.Unknown, exception.Outcome);
        var expected = new List<int>(succeeded);
        if (exception.Outcome == DualWriteOutcome.Committed)
        {
            expected.Add(fencedOrder);
        }

        expected.AddRange([2000, 2001, 2002]);
        Assert.Equal(expected, rows);
        await world.AssertRowsEqualEventsAsync(expectedCount: rows.Count);
    }

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Id_whose_lease_renewal_fails_leaves_the_pool_and_a_free_id_takes_its_slot(StoreKind kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await PoolWorld.StartAsync(kind);
        var prefix = PoolWorld.UniquePrefix("lost");
        var store = new LeaseRefusingStore(world.Store);
        await using var pool = new DualWriterPool(store, world.PoolOptions(prefix, poolSize: 2, totalIds: 3,
            leaseDuration: TimeSpan.FromSeconds(1.5), scanInterval: TimeSpan.FromMilliseconds(200)));
        await pool.StartAsync(ct);
        Assert.Equal([prefix + "-0", prefix + "-1"], pool.TransactionalIds);
        await pool.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, 1, token), ct);

        // From now on the store refuses prefix-0's lease, as when another instance took it after a long pause.
        store.Refused = prefix + "-0";
        Assert.True(await PoolWorld.EventuallyAsync(() =>
            Task.FromResult(pool.TransactionalIds.SequenceEqual([prefix + "-1", prefix + "-2"]))),
            "the id with the lost lease did not leave, or its slot was not refilled");

        await Task.WhenAll(Enumerable.Range(2, 6).Select(order =>
            pool.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, order, token), ct)));
        Assert.Equal([prefix + "-1", prefix + "-2"], pool.TransactionalIds);
        await world.AssertRowsEqualEventsAsync(expectedCount: 7);
    }

    /// <summary>Delegates to the real store but refuses every lease of one id.</summary>
    private sealed class LeaseRefusingStore(IDualWriteStore inner) : IDualWriteStore
    {
        public volatile string? Refused;

        public ValueTask<IDualWriteTransaction> BeginAsync(CancellationToken cancellationToken) => inner.BeginAsync(cancellationToken);

        public ValueTask<string?> ReadCommittedTokenAsync(string transactionalId, CancellationToken cancellationToken) =>
            inner.ReadCommittedTokenAsync(transactionalId, cancellationToken);

        public ValueTask<bool> TryAcquireLeaseAsync(string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            transactionalId == Refused ? ValueTask.FromResult(false)
                : inner.TryAcquireLeaseAsync(transactionalId, owner, duration, cancellationToken);

        public ValueTask ReleaseLeaseAsync(string transactionalId, string owner, CancellationToken cancellationToken) =>
            inner.ReleaseLeaseAsync(transactionalId, owner, cancellationToken);

        public ValueTask<IReadOnlyList<DualWriteStateRow>> ListStatesAsync(CancellationToken cancellationToken) =>
            inner.ListStatesAsync(cancellationToken);
    }
}
