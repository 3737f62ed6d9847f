using Lockstep.Cli.Demo;
using Lockstep.Client;
using Lockstep.DualWrite.Redis;
using StackExchange.Redis;

namespace Lockstep.DualWrite.Tests.Redis;

/// <summary>
/// Goal: the recipe holds on Redis — a unit's data and its token land in one <c>EXEC</c>; a unit that throws leaves
/// neither data nor events; a writer that loses the optimistic check is rolled back with its events invisible; and a
/// connection that breaks around <c>EXEC</c> is resolved by re-reading the token (committed ⇒ Kafka commits, not applied
/// ⇒ Kafka aborts). Method: <see cref="DualWriter"/> over <see cref="RedisDualWriteStore"/> (the demo's
/// <see cref="RedisOrderDatabase"/>) against the embedded broker; faults injected by an observer or a TCP proxy; the
/// verdict from an independent read_committed consumer compared with the committed orders.
/// </summary>
public sealed class RedisDualWriterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Data_and_token_become_visible_together_at_the_commit()
    {
        await using var world = await RedisTestWorld.StartAsync();
        var stateKey = world.Store.StateKey("orders-0");
        var seenAtStoreToken = new List<(bool OrderExists, string? Token)>();
        var observer = new StepObserver(step =>
        {
            if (step == DualWriteStep.StoreToken)
            {
                // Everything of the unit is queued by now, nothing sent: another connection sees neither part.
                seenAtStoreToken.Add((world.Keys.KeyExists(world.Prefix + "order:" + (seenAtStoreToken.Count + 1)),
                    world.Keys.HashGet(stateKey, "token")));
            }
        });
        await using var writer = world.CreateWriter("orders-0", observer);
        Assert.Equal(RecoveryOutcome.NothingPrepared, await writer.RecoverAsync(Ct));
        Assert.Equal(string.Empty, await world.Store.ReadCommittedTokenAsync("orders-0", Ct));

        for (var id = 1; id <= 5; id++)
        {
            var before = await world.Store.ReadCommittedTokenAsync("orders-0", Ct);
            await world.PlaceOrderAsync(writer, id);
            var after = await world.Store.ReadCommittedTokenAsync("orders-0", Ct);
            Assert.Equal((false, before), seenAtStoreToken[^1]);
            Assert.Matches("^[0-9]+:[0-9]+$", after);
            Assert.NotEqual(before, after);
            Assert.Equal([("amount_cents", "100"), ("placed_by", "orders-0")],
                (await world.Keys.HashGetAllAsync(world.Prefix + "order:" + id))
                    .Select(e => (e.Name.ToString(), e.Value.ToString())).Order());
        }

        Assert.Equal(5, seenAtStoreToken.Count);
        var rows = await world.AssertRowsEqualEventsAsync([1, 2, 3, 4, 5]);
        Assert.Equal(5, rows.Count);
    }

    [Fact]
    public async Task Unit_that_throws_leaves_neither_data_nor_events()
    {
        await using var world = await RedisTestWorld.StartAsync();
        await using var writer = world.CreateWriter("orders-0");
        await world.PlaceOrderAsync(writer, 1);
        var tokenBefore = await world.Store.ReadCommittedTokenAsync("orders-0", Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.ExecuteAsync(async (context, ct) =>
        {
            await world.Database.InsertOrderAsync(context, 2, 1, ct);
            // The event reaches the partition before the failure: only the abort keeps it from consumers.
            await context.ProduceAsync(new ProducerRecord(RedisTestWorld.Topic, RedisTestWorld.Key(2), null), ct);
            throw new InvalidOperationException("business rule violated");
        }, Ct));
        Assert.Equal("business rule violated", error.Message);
        Assert.False(await world.Keys.KeyExistsAsync(world.Prefix + "order:2"));
        Assert.Equal(tokenBefore, await world.Store.ReadCommittedTokenAsync("orders-0", Ct));

        await world.PlaceOrderAsync(writer, 3);
        await world.AssertRowsEqualEventsAsync([1, 3]);
    }

    [Fact]
    public async Task Writer_that_loses_the_optimistic_check_is_rolled_back_and_its_events_stay_invisible()
    {
        await using var world = await RedisTestWorld.StartAsync();
        await using var writer = world.CreateWriter("orders-0");
        await world.PlaceOrderAsync(writer, 1);
        var tokenBefore = await world.Store.ReadCommittedTokenAsync("orders-0", Ct);

        var error = await Assert.ThrowsAsync<DualWriteException>(() => writer.ExecuteAsync(async (context, ct) =>
        {
            await world.Database.InsertOrderAsync(context, 2, 100, ct);
            await context.ProduceAsync(new ProducerRecord(RedisTestWorld.Topic, RedisTestWorld.Key(2), null), ct);
            // Another writer of the same id (e.g. another instance's recovery) locks and commits the state between this
            // unit's lock and its EXEC: the version moves on, so this unit's EXEC must not apply.
            await using var rival = await world.Store.BeginAsync(ct);
            await rival.LockStateAsync("orders-0", ct);
            await rival.CommitAsync(ct);
        }, Ct));
        Assert.Equal(DualWriteOutcome.RolledBack, error.Outcome);
        var conflict = Assert.IsType<RedisDualWriteConflictException>(error.InnerException);
        Assert.Equal("orders-0", conflict.TransactionalId);
        Assert.True(conflict.StateChanged);
        Assert.Equal(tokenBefore, await world.Store.ReadCommittedTokenAsync("orders-0", Ct));
        Assert.False(await world.Keys.KeyExistsAsync(world.Prefix + "order:2"));

        // The writer carries on; order 2's event was aborted and never shows.
        await world.PlaceOrderAsync(writer, 3);
        var rows = await world.AssertRowsEqualEventsAsync([1, 3]);
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public async Task Condition_added_by_the_unit_fails_the_commit_like_a_conflict()
    {
        await using var world = await RedisTestWorld.StartAsync();
        await using var writer = world.CreateWriter("orders-0");
        await world.PlaceOrderAsync(writer, 1);

        // RedisOrderDatabase guards each order key with KeyNotExists, the SQL stores' primary key.
        var error = await Assert.ThrowsAsync<DualWriteException>(() => world.PlaceOrderAsync(writer, 1));
        Assert.Equal(DualWriteOutcome.RolledBack, error.Outcome);
        Assert.False(Assert.IsType<RedisDualWriteConflictException>(error.InnerException).StateChanged);

        await world.PlaceOrderAsync(writer, 2);
        await world.AssertRowsEqualEventsAsync([1, 2]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connection_lost_around_EXEC_is_resolved_by_re_reading_the_token(bool execApplied)
    {
        var fault = execApplied ? ExecFault.CutAfterExec : ExecFault.DropBeforeExec;
        await using var world = await RedisTestWorld.StartAsync();
        await using var proxy = new RedisFaultProxy(world.Server);
        // The writer's store goes through the proxy; the verdict reads the server directly (same key prefix).
        var proxiedSpec = "redis://" + proxy.Endpoint + "/" + world.Prefix;
        await using var proxied = OrderDatabases.Open(proxiedSpec);
        await using var writer = world.CreateWriter("orders-0", store: proxied.Store);

        await RedisTestWorld.PlaceOrderAsync(writer, proxied, 1); // recovery and a first unit, before arming
        proxy.Arm(fault);
        if (fault == ExecFault.CutAfterExec)
        {
            // Redis applied the EXEC but the reply never came: the writer must find its token and commit Kafka.
            await RedisTestWorld.PlaceOrderAsync(writer, proxied, 2);
        }
        else
        {
            // The EXEC never reached Redis: the token is the old one, so Kafka aborts.
            var error = await Assert.ThrowsAsync<DualWriteException>(() => RedisTestWorld.PlaceOrderAsync(writer, proxied, 2));
            Assert.Equal(DualWriteOutcome.RolledBack, error.Outcome);
            Assert.IsType<RedisDualWriteException>(error.InnerException, exactMatch: false);
        }

        Assert.Equal(1, proxy.Faults);
        await RedisTestWorld.PlaceOrderAsync(writer, proxied, 3); // the writer recovers its connection
        var expected = fault == ExecFault.CutAfterExec ? new[] { 1, 2, 3 } : [1, 3];
        var rows = await world.AssertRowsEqualEventsAsync(expected);
        Assert.Equal(expected.Length, rows.Count);
    }

    [Fact]
    public async Task Several_writers_on_distinct_ids_agree_with_the_events()
    {
        await using var world = await RedisTestWorld.StartAsync();
        var writers = Enumerable.Range(0, 3).Select(i => world.CreateWriter("orders-" + i)).ToList();
        try
        {
            await Task.WhenAll(writers.Select((writer, w) => Task.Run(async () =>
            {
                for (var n = 0; n < 10; n++)
                {
                    await world.PlaceOrderAsync(writer, (w * 100) + n);
                }
            }, Ct)));
        }
        finally
        {
            foreach (var writer in writers)
            {
                await writer.DisposeAsync();
            }
        }

        var expected = Enumerable.Range(0, 3).SelectMany(w => Enumerable.Range(w * 100, 10)).ToList();
        var rows = await world.AssertRowsEqualEventsAsync(expected);
        Assert.Equal(30, rows.Count);
        Assert.Equal(["orders-0", "orders-1", "orders-2"], (await world.Store.ListStatesAsync(Ct)).Select(r => r.TransactionalId));
    }

    [Fact]
    public async Task Doc_example_of_context_Redis_commits_the_key_with_its_event()
    {
        await using var world = await RedisTestWorld.StartAsync();
        await using var writer = world.CreateWriter("orders-0");
        var key = RedisTestWorld.Key(42);
        var value = "OrderPlaced"u8.ToArray();

        // The <example> of RedisDualWriteContextExtensions.Redis, verbatim.
        await writer.ExecuteAsync(async (context, ct) =>
        {
            var redis = context.Redis();
            // Queued, not sent: the task completes after the commit, so it is not awaited here.
            _ = redis.Transaction.HashSetAsync(redis.Key("order:42"), "amount_cents", 1999);
            await context.ProduceAsync(new ProducerRecord("orders", key, value), ct);
        }, Ct);

        Assert.Equal(1999, (int)await world.Keys.HashGetAsync(world.Prefix + "order:42", "amount_cents"));
        Assert.Equal([42], await world.ReadCommittedEventsAsync());
    }

    private sealed class StepObserver(Action<DualWriteStep> onStep) : IDualWriteObserver
    {
        public void OnStepCompleted(string transactionalId, DualWriteStep step) => onStep(step);
    }
}
