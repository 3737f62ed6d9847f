using Lockstep.Broker;
using Lockstep.Client;
using Lockstep.DualWrite.Sqlite;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// Goal: the recipe refuses to run where it cannot be atomic, promptly and with the missing capability named — a
/// broker without KIP-939 two-phase commit, and a broker that finalizes transaction.version 1 (under TV1 consecutive
/// transactions share one producer id and epoch, so a stored token could match a newer, rolled-back transaction and
/// recovery would commit its events; dual-write.md §1 "Requirements"). A pool must fail its units the same way rather
/// than leave them waiting for an id that can never be recovered. Method: the embedded broker with the capability
/// switched off; the timing bound only guards against a hang (it is far above the client's request timeouts).
/// </summary>
public sealed class BrokerCapabilityTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    public static TheoryData<string, string, string> Brokers => new()
    {
        { "transaction.two.phase.commit.enable", "false", "InitProducerId v6" },
        { "transaction.version", "1", "transaction.version 2" },
    };

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Writer_fails_fast_naming_the_missing_capability(string setting, string value, string missing)
    {
        using var directory = new TempDirectory("capability");
        await using var broker = await StartBrokerAsync(directory, setting, value);
        var store = SqliteDualWriteStore.ForFile(directory.Combine("app.db"));
        await using var writer = new DualWriter(store, new DualWriterOptions
        {
            TransactionalId = "cap-0",
            BootstrapServers = broker.BootstrapServers,
        });

        var error = await Assert.ThrowsAsync<BrokerCapabilityException>(
            () => writer.ExecuteAsync((_, _) => Task.CompletedTask, TestContext.Current.CancellationToken)
                .WaitAsync(HangGuard, TestContext.Current.CancellationToken));

        Assert.Equal(missing, error.MissingCapability);
        // Nothing ran: no token was recorded for the id.
        Assert.True(string.IsNullOrEmpty(await store.ReadCommittedTokenAsync("cap-0", TestContext.Current.CancellationToken)));
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Leased_pool_fails_its_units_instead_of_waiting_for_an_id(string setting, string value, string missing)
    {
        using var directory = new TempDirectory("capability");
        await using var broker = await StartBrokerAsync(directory, setting, value);
        var store = SqliteDualWriteStore.ForFile(directory.Combine("app.db"));
        await using var pool = new DualWriterPool(store, new DualWriterPoolOptions
        {
            BootstrapServers = broker.BootstrapServers,
            TransactionalIdPrefix = "cap",
            PoolSize = 2,
        });

        var unkeyed = await Assert.ThrowsAsync<BrokerCapabilityException>(
            () => pool.ExecuteAsync((_, _) => Task.CompletedTask, TestContext.Current.CancellationToken)
                .WaitAsync(HangGuard, TestContext.Current.CancellationToken));
        Assert.Equal(missing, unkeyed.MissingCapability);

        var keyed = await Assert.ThrowsAsync<BrokerCapabilityException>(
            () => pool.ExecuteAsync("customer-1", (_, _) => Task.CompletedTask, TestContext.Current.CancellationToken)
                .WaitAsync(HangGuard, TestContext.Current.CancellationToken));
        Assert.Equal(missing, keyed.MissingCapability);
    }

    private static Task<KafkaBroker> StartBrokerAsync(TempDirectory directory, string setting, string value) =>
        KafkaBroker.StartAsync(new BrokerOptions
        {
            DataDirectory = directory.Combine("broker"),
            Listen = "127.0.0.1:0",
            Settings = { ["lockstep.durability"] = "os", [setting] = value },
        });
}
