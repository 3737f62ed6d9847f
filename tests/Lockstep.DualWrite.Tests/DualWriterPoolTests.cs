namespace Lockstep.DualWrite.Tests;

/// <summary>
/// Goal: a pool of transactional ids runs units concurrently and keeps the recipe's guarantee per id; invalid pool
/// settings are refused up front with every problem named. Method: many concurrent units over a lease-less pool of 3;
/// rows must equal read_committed events, and every id must have been used (its state row holds a token). Scale-out
/// across instances, key affinity and hosting are in Pool/ and Hosting/.
/// </summary>
public sealed class DualWriterPoolTests
{
    [Fact]
    public async Task Concurrent_units_spread_over_the_ids_and_rows_equal_events()
    {
        await using var harness = await DualWriteHarness.StartAsync();
        await using var pool = new DualWriterPool(harness.Store, 3, "orders", o =>
        {
            o.BootstrapServers = harness.Bootstrap;
            o.ConfigureProducer = p => p.Linger = TimeSpan.Zero;
        });
        var recovered = await pool.RecoverAllAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["orders-0", "orders-1", "orders-2"], recovered.Keys.Order());

        var usedIds = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await Task.WhenAll(Enumerable.Range(1, 30).Select(id => pool.ExecuteAsync(async (context, ct) =>
        {
            usedIds.AddOrUpdate(context.TransactionalId, 1, (_, n) => n + 1);
            await using (var insert = context.CreateCommand(
                $"INSERT INTO orders (order_id, amount_cents, placed_by) VALUES ({id}, 1, '{context.TransactionalId}');"))
            {
                await insert.ExecuteNonQueryAsync(ct);
            }

            await context.ProduceAsync(new Client.ProducerRecord(DualWriteHarness.Topic, DualWriteHarness.Key(id), null), ct);
            return id;
        }, TestContext.Current.CancellationToken)));

        await harness.AssertRowsEqualEventsAsync(expectedCount: 30);
        Assert.Equal(30, usedIds.Values.Sum());
        foreach (var id in pool.TransactionalIds)
        {
            Assert.Matches("^[0-9]+:[0-9]+$", await harness.ReadStoredTokenAsync(id));
        }
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem_named()
    {
        var error = Assert.Throws<ArgumentException>(() => new DualWriterPool(new Sqlite.SqliteDualWriteStore("Data Source=unused.db"),
            new DualWriterPoolOptions { PoolSize = 0, LeaseDuration = TimeSpan.FromMilliseconds(10) }));

        Assert.Contains("BootstrapServers is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("TransactionalIdPrefix is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("PoolSize must be at least 1 (got 0)", error.Message, StringComparison.Ordinal);
        Assert.Contains("LeaseDuration must be at least 100 ms", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new DualWriterPool(new Sqlite.SqliteDualWriteStore("Data Source=unused.db"),
            new DualWriterPoolOptions { BootstrapServers = "b:9092", TransactionalIdPrefix = "p", PoolSize = 2, TotalIds = 3, UseLeases = false }));
    }
}
