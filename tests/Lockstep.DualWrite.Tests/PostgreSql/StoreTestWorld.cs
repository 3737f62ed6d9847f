using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Lockstep.Broker;
using Lockstep.Cli.Demo;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests.PostgreSql;

/// <summary>
/// One store test's world: an embedded broker on loopback TCP with an <c>orders</c> topic, an
/// <see cref="IOrderDatabase"/> of any kind, and the two views the recipe must keep equal — the committed order rows
/// and the events a read_committed consumer (librdkafka, sharing no code with the writer) sees. Same method as
/// DualWriteHarness, but over the demo's store abstraction so PostgreSQL and EF Core tests can use it.
/// </summary>
internal sealed class StoreTestWorld : IAsyncDisposable
{
    public const string Topic = "orders";

    private readonly int _partitions;

    private StoreTestWorld(TempDirectory directory, KafkaBroker broker, IOrderDatabase database, int partitions)
    {
        Directory = directory;
        Broker = broker;
        Database = database;
        _partitions = partitions;
    }

    public TempDirectory Directory { get; }

    public KafkaBroker Broker { get; }

    public IOrderDatabase Database { get; }

    /// <summary>Starts a broker and opens a fresh database of <paramref name="kind"/> with its orders table.</summary>
    /// <param name="kind">The store.</param>
    /// <param name="partitions">Partitions of the topic. One partition makes "a later unit's event is visible" prove
    /// that no earlier transaction is still open (it would pin the partition's last stable offset).</param>
    public static async Task<StoreTestWorld> StartAsync(StoreKind kind, int partitions = 3)
    {
        var directory = new TempDirectory("dualwrite-store");
        var database = await TestStores.OpenFreshAsync(kind, directory);
        return await StartAsync(directory, database, partitions);
    }

    /// <summary>Starts a broker around an already opened database (its schema created by the caller).</summary>
    public static async Task<StoreTestWorld> StartAsync(TempDirectory directory, IOrderDatabase database, int partitions = 3)
    {
        var broker = await KafkaBroker.StartAsync(new BrokerOptions
        {
            DataDirectory = directory.Combine("broker"),
            Listen = "127.0.0.1:0",
            Settings = { ["lockstep.durability"] = "os" },
        });
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
        }

        return new StoreTestWorld(directory, broker, database, partitions);
    }

    public DualWriter CreateWriter(string transactionalId, IDualWriteObserver? observer = null, IDualWriteStore? store = null) =>
        new(store ?? Database.Store, new DualWriterOptions
        {
            TransactionalId = transactionalId,
            BootstrapServers = Broker.BootstrapServers,
            ConfigureProducer = o => o.Linger = TimeSpan.Zero,
            Observer = observer,
        });

    /// <summary>The demo's unit of work through <paramref name="database"/> (default: this world's): INSERT the order,
    /// produce OrderPlaced keyed by the order id.</summary>
    public Task PlaceOrderAsync(DualWriter writer, int orderId, IOrderDatabase? database = null) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            await (database ?? Database).InsertOrderAsync(context, orderId, 100, ct);
            await ProduceOrderPlacedAsync(context, orderId, ct);
        }, TestContext.Current.CancellationToken);

    public static Task<Client.DeliveryResult> ProduceOrderPlacedAsync(DualWriteContext context, int orderId, CancellationToken ct) =>
        context.ProduceAsync(new Client.ProducerRecord(
            Topic, Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture)), Encoding.UTF8.GetBytes("OrderPlaced")), ct);

    public async Task<List<int>> ReadRowsAsync()
    {
        var rows = (await Database.ReadOrderIdsAsync(TestContext.Current.CancellationToken)).ToList();
        rows.Sort();
        return rows;
    }

    /// <summary>Every event a read_committed consumer sees, sorted, duplicates kept: reads to the end of each
    /// partition, then 500 ms more so a commit marker still in flight cannot cut the read short.</summary>
    public Task<List<int>> ReadCommittedEventsAsync() => CommittedEvents.ReadOrderIdsAsync(Broker.BootstrapServers, Topic, _partitions);

    /// <summary>The recipe's promise: committed rows and read_committed events are the same set, each event once, and
    /// both equal <paramref name="expected"/>.</summary>
    public async Task AssertRowsEqualEventsAsync(params int[] expected)
    {
        var rows = await ReadRowsAsync();
        var events = await ReadCommittedEventsAsync();
        Assert.Equal(expected.Order(), rows);
        Assert.Equal(rows, events);
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Database.DisposeAsync();
        Directory.Dispose();
    }
}

/// <summary>An <see cref="IDualWriteObserver"/> that runs a callback at every step boundary.</summary>
internal sealed class StepObserver(Action<string, DualWriteStep> onStep) : IDualWriteObserver
{
    public void OnStepCompleted(string transactionalId, DualWriteStep step) => onStep(transactionalId, step);
}

/// <summary>The PostgreSQL server test.sh starts ($LOCKSTEP_POSTGRES): skipped locally when absent, failed under CI.
/// </summary>
internal static class PostgresTestServer
{
    public static string ConnectionString
    {
        get
        {
            var server = Environment.GetEnvironmentVariable("LOCKSTEP_POSTGRES");
            Peers.RequireOrSkip(!string.IsNullOrEmpty(server), "PostgreSQL at $LOCKSTEP_POSTGRES (started by ./test.sh)");
            return server!;
        }
    }

    /// <summary>A fresh schema name (letters, digits, '_').</summary>
    public static string FreshSchema() => "lockstep_" + FreshRunId();

    /// <summary>A fresh run id for <see cref="Cli.Demo.OrderDatabases.Isolate"/>.</summary>
    public static string FreshRunId() => "st_" + Guid.NewGuid().ToString("N")[..16];
}
