using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Lockstep.Broker;
using Lockstep.Cli.Demo;
using Lockstep.DualWrite.Diagnostics;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests.Pool;

/// <summary>
/// One pool test's world (store-neutral, unlike <see cref="DualWriteHarness"/>, which is SQLite-specific): an embedded
/// broker with the <c>orders</c> topic, a fresh <see cref="IOrderDatabase"/> of a <see cref="StoreKind"/>, and the two
/// views to compare — committed order ids and the events a read_committed consumer (librdkafka) sees.
/// </summary>
internal sealed class PoolWorld : IAsyncDisposable
{
    public const string Topic = "orders";
    private const int Partitions = 3;

    private readonly TempDirectory _directory;

    private PoolWorld(TempDirectory directory, KafkaBroker broker, IOrderDatabase database)
    {
        _directory = directory;
        Broker = broker;
        Database = database;
    }

    public KafkaBroker Broker { get; }

    public IOrderDatabase Database { get; }

    public IDualWriteStore Store => Database.Store;

    public string Bootstrap => Broker.BootstrapServers;

    public static async Task<PoolWorld> StartAsync(StoreKind kind)
    {
        var directory = new TempDirectory("dualwrite-pool");
        try
        {
            // The store first: a missing peer skips (or fails under CI) before a broker is started for nothing.
            var database = await TestStores.OpenFreshAsync(kind, directory);
            var broker = await KafkaBroker.StartAsync(new BrokerOptions
            {
                DataDirectory = directory.Combine("broker"),
                Listen = "127.0.0.1:0",
                Settings = { ["lockstep.durability"] = "os" },
            });
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build())
            {
                await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = Partitions, ReplicationFactor = 1 }]);
            }

            return new PoolWorld(directory, broker, database);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>A transactional-id prefix no other test uses (ids and metric tags stay apart under parallel runs).
    /// </summary>
    public static string UniquePrefix(string tag) => $"{tag}-{Guid.NewGuid():N}"[..(tag.Length + 9)];

    public DualWriterPoolOptions PoolOptions(string prefix, int poolSize, int? totalIds = null, string? instanceId = null,
        TimeSpan? leaseDuration = null, TimeSpan? scanInterval = null, IDualWriteObserver? observer = null, bool useLeases = true)
    {
        var options = new DualWriterPoolOptions
        {
            BootstrapServers = Bootstrap,
            TransactionalIdPrefix = prefix,
            PoolSize = poolSize,
            TotalIds = totalIds,
            UseLeases = useLeases,
            LeaseDuration = leaseDuration ?? TimeSpan.FromSeconds(30),
            TakeoverScanInterval = scanInterval,
            ConfigureProducer = p => p.Linger = TimeSpan.Zero,
            Observer = observer,
        };
        if (instanceId is not null)
        {
            options.InstanceId = instanceId;
        }

        return options;
    }

    /// <summary>The demo's unit of work: the order row, and OrderPlaced keyed by the order id.</summary>
    public async Task PlaceOrderAsync(DualWriteContext context, int orderId, CancellationToken cancellationToken)
    {
        await Database.InsertOrderAsync(context, orderId, 100, cancellationToken);
        await context.ProduceAsync(new Client.ProducerRecord(Topic, Encoding.UTF8.GetBytes(Text(orderId)),
            Encoding.UTF8.GetBytes(Text(orderId))), cancellationToken);
    }

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    public async Task<List<int>> ReadRowsAsync() =>
        [.. (await Database.ReadOrderIdsAsync(TestContext.Current.CancellationToken)).Order()];

    /// <summary>Every event a read_committed consumer sees, per partition in offset order (duplicates kept): reads to
    /// the last stable offset of each partition and then 500 ms more so a commit marker in flight cannot cut it short.
    /// </summary>
    public async Task<List<(int Partition, string Key, int OrderId)>> ReadCommittedEventsAsync() =>
        [.. (await CommittedEvents.ReadAsync(Bootstrap, Topic, Partitions)).Select(e =>
            (e.Partition, Encoding.UTF8.GetString(e.Key), int.Parse(Encoding.UTF8.GetString(e.Value), CultureInfo.InvariantCulture)))];

    /// <summary>The recipe's guarantee: committed rows and read_committed events are the same set, each event once.
    /// </summary>
    public async Task AssertRowsEqualEventsAsync(int expectedCount)
    {
        var rows = await ReadRowsAsync();
        var events = (await ReadCommittedEventsAsync()).Select(e => e.OrderId).Order().ToList();
        Assert.Equal(rows, events);
        Assert.Equal(expectedCount, rows.Count);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds (30 s at most); returns whether it did.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return false;
    }

    public async Task<List<DualWriteStateRow>> StatesAsync(string prefix) =>
        [.. (await Store.ListStatesAsync(TestContext.Current.CancellationToken))
            .Where(r => r.TransactionalId.StartsWith(prefix + "-", StringComparison.Ordinal))
            .OrderBy(r => r.TransactionalId, StringComparer.Ordinal)];

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

/// <summary>Throws right after <see cref="Step"/> while <see cref="Armed"/>: the process "dies" at that step boundary
/// (the unit's state stays exactly as a crash there would leave it, e.g. prepared in Kafka and committed in the DB).
/// </summary>
internal sealed class CrashAfterStep(DualWriteStep step) : IDualWriteObserver
{
    public DualWriteStep Step { get; } = step;

    public volatile bool Armed;

    public void OnStepCompleted(string transactionalId, DualWriteStep step)
    {
        if (Armed && step == Step)
        {
            Armed = false;
            throw new InjectedCrashException(transactionalId, step);
        }
    }
}

internal sealed class InjectedCrashException(string transactionalId, DualWriteStep step)
    : Exception($"Injected crash on {transactionalId} after {step}.")
{
    public string TransactionalId { get; } = transactionalId;
}

/// <summary>Records the dual-write metrics of the transactional ids with one prefix (other tests run in parallel and
/// publish to the same process-wide meter).</summary>
internal sealed class DualWriteMetricsRecorder : IDisposable
{
    private readonly string _prefix;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, string Id, string? Outcome, double Value)> _measurements = new();

    public DualWriteMetricsRecorder(string prefix)
    {
        _prefix = prefix + "-";
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DualWriteTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Last observed value of the oldest-prepared-age gauge (process-wide).</summary>
    public double? OldestPreparedAge { get; private set; }

    public IReadOnlyList<(string Instrument, string Id, string? Outcome, double Value)> Measurements => [.. _measurements];

    public IReadOnlyList<(string Id, string Outcome)> Recoveries =>
        [.. _measurements.Where(m => m.Instrument == DualWriteTelemetry.Recoveries).Select(m => (m.Id, m.Outcome ?? ""))];

    public double ObserveOldestPreparedAge()
    {
        _listener.RecordObservableInstruments();
        return OldestPreparedAge ?? throw new InvalidOperationException("the prepared-age gauge reported nothing");
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument.Name == DualWriteTelemetry.OldestPreparedAge)
        {
            OldestPreparedAge = value;
            return;
        }

        string? id = null;
        string? outcome = null;
        foreach (var tag in tags)
        {
            if (tag.Key == DualWriteTelemetry.TransactionalIdTag)
            {
                id = tag.Value as string;
            }
            else if (tag.Key == DualWriteTelemetry.OutcomeTag)
            {
                outcome = tag.Value as string;
            }
        }

        if (id is not null && id.StartsWith(_prefix, StringComparison.Ordinal))
        {
            _measurements.Enqueue((instrument.Name, id, outcome, value));
        }
    }

    public void Dispose() => _listener.Dispose();
}
