using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Lockstep.DualWrite.Diagnostics;

namespace Lockstep.DualWrite.Tests.Pool;

/// <summary>
/// Goal: with key affinity on, consumers see each key's events in the order of the units' DB commits (issue 6
/// "consumers of the events see per-key order when key affinity is on"), on every store. Method: many units of
/// several keys fired concurrently at a pool of 4 ids; inside each unit (serialised per key by the pool) the key's next
/// sequence number is taken and written with the row, so sequence order is the key's DB commit order; the events,
/// read by a read_committed consumer in offset order, must carry each key's sequence numbers in ascending order, every
/// committed row exactly once, and each key must have stayed on one transactional id.
/// </summary>
public sealed class KeyAffinityTests
{
    private const int Keys = 6;
    private const int UnitsPerKey = 12;

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Units_of_one_key_reach_kafka_in_db_commit_order(StoreKind kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await PoolWorld.StartAsync(kind);
        var prefix = PoolWorld.UniquePrefix("affinity");
        using var activities = new UnitActivityRecorder(prefix);
        await using var pool = new DualWriterPool(world.Store, world.PoolOptions(prefix, poolSize: 4, totalIds: 4));
        await pool.StartAsync(ct);

        var sequences = new int[Keys];
        var idsByKey = new ConcurrentDictionary<string, ConcurrentDictionary<string, byte>>();
        var units = new List<Task>();
        for (var unit = 0; unit < UnitsPerKey; unit++)
        {
            for (var k = 0; k < Keys; k++)
            {
                var key = "customer-" + PoolWorld.Text(k);
                var keyIndex = k;
                units.Add(pool.ExecuteAsync(key, async (context, token) =>
                {
                    // Units of one key run one at a time, so this is the key's DB commit order.
                    var sequence = Interlocked.Increment(ref sequences[keyIndex]);
                    var orderId = (keyIndex * 1000) + sequence;
                    idsByKey.GetOrAdd(key, _ => new()).TryAdd(context.TransactionalId, 0);
                    await world.Database.InsertOrderAsync(context, orderId, sequence, token);
                    await context.ProduceAsync(new Client.ProducerRecord(PoolWorld.Topic, Encoding.UTF8.GetBytes(key),
                        Encoding.UTF8.GetBytes(PoolWorld.Text(orderId))), token);
                }, ct));
            }
        }

        await Task.WhenAll(units);

        var events = await world.ReadCommittedEventsAsync();
        for (var k = 0; k < Keys; k++)
        {
            var key = "customer-" + PoolWorld.Text(k);
            var seen = events.Where(e => e.Key == key).Select(e => e.OrderId).ToList();
            Assert.Equal(Enumerable.Range((k * 1000) + 1, UnitsPerKey), seen);
            Assert.Single(idsByKey[key]);
        }

        Assert.Equal(await world.ReadRowsAsync(), events.Select(e => e.OrderId).Order());
        Assert.True(idsByKey.Values.SelectMany(ids => ids.Keys).Distinct().Count() > 1, "keys should spread over the ids");

        // Tracing: every unit is an activity whose events are the recipe steps, in order.
        var traced = activities.Completed.Where(a => a.Steps.Contains(nameof(DualWriteStep.CommitKafka))).ToList();
        Assert.Equal(Keys * UnitsPerKey, traced.Count);
        string[] recipe = [nameof(DualWriteStep.LockState), nameof(DualWriteStep.CompletePrevious),
            nameof(DualWriteStep.WriteAndProduce), nameof(DualWriteStep.Prepare), nameof(DualWriteStep.StoreToken),
            nameof(DualWriteStep.CommitDatabase), nameof(DualWriteStep.CommitKafka)];
        Assert.All(traced, a => Assert.Equal(recipe, a.Steps));
    }

    [Fact]
    public async Task Key_to_slot_mapping_is_stable_and_spreads_over_the_pool()
    {
        // Kafka's murmur2 of the key modulo the pool size: independent of process, run and the ids the pool holds.
        await using var pool = new DualWriterPool(new UnusedStore(), new DualWriterPoolOptions
        {
            BootstrapServers = "127.0.0.1:1",
            TransactionalIdPrefix = "unused",
            PoolSize = 8,
            UseLeases = false,
        });
        var slots = Enumerable.Range(0, 400).Select(i => pool.SlotOf(Encoding.UTF8.GetBytes("key-" + PoolWorld.Text(i)))).ToList();
        Assert.Equal(slots, Enumerable.Range(0, 400).Select(i => pool.SlotOf(Encoding.UTF8.GetBytes("key-" + PoolWorld.Text(i)))));
        Assert.All(slots, s => Assert.InRange(s, 0, 7));
        Assert.Equal(8, slots.Distinct().Count());
        // Kafka's published murmur2 vector (clients/src/test/.../UtilsTest.java: murmur2("21") == -973932308).
        Assert.Equal(-973932308, KeyAffinity.Murmur2("21"u8));
        Assert.Equal(-790332482, KeyAffinity.Murmur2("foobar"u8));
    }

    /// <summary>A store the slot-mapping test never touches (nothing is contacted before the first unit).</summary>
    private sealed class UnusedStore : IDualWriteStore
    {
        public ValueTask<IDualWriteTransaction> BeginAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<string?> ReadCommittedTokenAsync(string transactionalId, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public ValueTask<bool> TryAcquireLeaseAsync(string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public ValueTask ReleaseLeaseAsync(string transactionalId, string owner, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public ValueTask<IReadOnlyList<DualWriteStateRow>> ListStatesAsync(CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}

/// <summary>Collects the unit activities of the transactional ids with one prefix.</summary>
internal sealed class UnitActivityRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<(string Id, IReadOnlyList<string> Steps)> _completed = new();

    public UnitActivityRecorder(string prefix)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DualWriteTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == DualWriteTelemetry.UnitActivity
                    && activity.GetTagItem(DualWriteTelemetry.TransactionalIdTag) is string id
                    && id.StartsWith(prefix + "-", StringComparison.Ordinal))
                {
                    _completed.Enqueue((id, [.. activity.Events.Select(e => e.Name)]));
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<(string Id, IReadOnlyList<string> Steps)> Completed => [.. _completed];

    public void Dispose() => _listener.Dispose();
}
