using Lockstep.DualWrite.Hosting;
using Lockstep.DualWrite.Sqlite;
using Lockstep.DualWrite.Tests.Pool;
using Lockstep.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Lockstep.DualWrite.Tests.Hosting;

/// <summary>
/// Goal: the .NET integration (issue 6 item 4) — <c>AddLockstepDualWrite</c> with options bound from configuration and
/// a hosted service that leases and recovers on start, runs units while up and releases its leases on stop — on every
/// store; and a misconfiguration stops the host from starting with messages naming the keys. Method: a real
/// <see cref="HostApplicationBuilder"/> with in-memory configuration against the embedded broker; a previous
/// incarnation leaves a transaction prepared in Kafka whose DB transaction committed, which the start must commit.
/// </summary>
public sealed class HostingTests
{
    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Host_leases_and_recovers_on_start_runs_units_and_releases_leases_on_stop(StoreKind kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await PoolWorld.StartAsync(kind);
        var prefix = PoolWorld.UniquePrefix("hosted");
        using var metrics = new DualWriteMetricsRecorder(prefix);

        // A previous incarnation of the service died after its DB commit of order 1, before committing Kafka.
        var crash = new CrashAfterStep(DualWriteStep.CommitDatabase) { Armed = true };
        await using (var previous = new DualWriter(world.Store, new DualWriterOptions
        {
            TransactionalId = prefix + "-0",
            BootstrapServers = world.Bootstrap,
            Observer = crash,
        }))
        {
            await Assert.ThrowsAsync<InjectedCrashException>(
                () => previous.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, 1, token), ct));
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Lockstep:DualWrite:BootstrapServers"] = world.Bootstrap,
            ["Lockstep:DualWrite:TransactionalIdPrefix"] = prefix,
            ["Lockstep:DualWrite:PoolSize"] = "2",
            ["Lockstep:DualWrite:TotalIds"] = "2",
            ["Lockstep:DualWrite:LeaseDuration"] = "00:00:10",
            ["Lockstep:DualWrite:InstanceId"] = "hosted-instance",
        });
        builder.Services.AddLockstepDualWrite(_ => world.Store, o => o.ConfigureProducer = p => p.Linger = TimeSpan.Zero);
        using var host = builder.Build();

        await host.StartAsync(ct);
        var pool = host.Services.GetRequiredService<DualWriterPool>();
        Assert.Equal("hosted-instance", pool.InstanceId);
        Assert.Equal([prefix + "-0", prefix + "-1"], pool.TransactionalIds);
        Assert.Contains((prefix + "-0", "committed"), metrics.Recoveries); // Order 1, from the DB's decision.
        Assert.All(await world.StatesAsync(prefix), r => Assert.Equal("hosted-instance", r.LeaseOwner));

        await Task.WhenAll(Enumerable.Range(2, 6).Select(order =>
            pool.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, order, token), ct)));

        await host.StopAsync(ct);
        var states = await world.StatesAsync(prefix);
        Assert.Equal(2, states.Count);
        Assert.All(states, r => Assert.Null(r.LeaseOwner));
        await Assert.ThrowsAsync<ObjectDisposedException>(
            () => pool.ExecuteAsync((context, token) => world.PlaceOrderAsync(context, 99, token), ct));
        await world.AssertRowsEqualEventsAsync(expectedCount: 7);
    }

    [Fact]
    public async Task Bad_configuration_stops_the_host_from_starting_with_messages_naming_the_keys()
    {
        using var directory = new TempDirectory("dualwrite-hosting");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Lockstep:DualWrite:TransactionalIdPrefix"] = "orders",
            ["Lockstep:DualWrite:PoolSize"] = "8",
            ["Lockstep:DualWrite:TotalIds"] = "4",
            ["Lockstep:DualWrite:LeaseDuration"] = "00:00:10",
            ["Lockstep:DualWrite:LeaseRenewalInterval"] = "00:00:20",
        });
        var storeCreated = false;
        builder.Services.AddLockstepDualWrite(_ =>
        {
            storeCreated = true;
            return SqliteDualWriteStore.ForFile(directory.Combine("app.db"));
        });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(error.Failures, f => f.StartsWith("Lockstep:DualWrite:BootstrapServers is required", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Lockstep:DualWrite:TotalIds (4) must be at least PoolSize (8)", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Lockstep:DualWrite:LeaseRenewalInterval", StringComparison.Ordinal));
        Assert.Equal(3, error.Failures.Count());
        Assert.False(storeCreated, "nothing may be contacted before the options are valid");
    }
}
