using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Lockstep.Broker;
using Lockstep.Cli.Demo;
using Lockstep.DualWrite.Redis;
using Lockstep.Testing;
using StackExchange.Redis;

namespace Lockstep.DualWrite.Tests.Redis;

/// <summary>
/// One Redis test's world: the embedded broker with an <c>orders</c> topic, a fresh key prefix on the Redis server of
/// $LOCKSTEP_REDIS (the demo's <see cref="RedisOrderDatabase"/>), an independent connection to look at the keys, and a
/// read_committed consumer (librdkafka, sharing no code with the writer) for the verdict.
/// </summary>
internal sealed class RedisTestWorld : IAsyncDisposable
{
    public const string Topic = "orders";
    private const int Partitions = 3;

    private readonly TempDirectory _directory;

    private RedisTestWorld(TempDirectory directory, KafkaBroker broker, string spec, IOrderDatabase database, ConnectionMultiplexer observer)
    {
        _directory = directory;
        Broker = broker;
        Spec = spec;
        Database = database;
        Observer = observer;
        Prefix = spec[(spec.IndexOf('/', "redis://".Length) + 1)..];
        Server = Environment.GetEnvironmentVariable("LOCKSTEP_REDIS")!;
    }

    public KafkaBroker Broker { get; }

    /// <summary>The <c>redis://host:port/prefix</c> spec of this test's namespace.</summary>
    public string Spec { get; }

    /// <summary>The key prefix of this test (<c>lockstep-…:</c>).</summary>
    public string Prefix { get; }

    /// <summary>host:port of the Redis server.</summary>
    public string Server { get; }

    public IOrderDatabase Database { get; }

    public RedisDualWriteStore Store => (RedisDualWriteStore)Database.Store;

    /// <summary>A connection of the test's own, to read keys behind the store's back.</summary>
    public ConnectionMultiplexer Observer { get; }

    public IDatabase Keys => Observer.GetDatabase();

    public static async Task<RedisTestWorld> StartAsync(bool withBroker = true)
    {
        var directory = new TempDirectory("redis-dualwrite");
        var spec = TestStores.FreshSpec(StoreKind.Redis, directory);
        KafkaBroker? broker = null;
        if (withBroker)
        {
            broker = await KafkaBroker.StartAsync(new BrokerOptions
            {
                DataDirectory = directory.Combine("broker"),
                Listen = "127.0.0.1:0",
                Settings = { ["lockstep.durability"] = "os" },
            });
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build();
            await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = Partitions, ReplicationFactor = 1 }]);
        }

        var database = OrderDatabases.Open(spec);
        await database.EnsureSchemaAsync(TestContext.Current.CancellationToken);
        var observer = await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("LOCKSTEP_REDIS")!);
        return new RedisTestWorld(directory, broker!, spec, database, observer);
    }

    public DualWriter CreateWriter(string transactionalId, IDualWriteObserver? observer = null, IDualWriteStore? store = null) =>
        new(store ?? Database.Store, new DualWriterOptions
        {
            TransactionalId = transactionalId,
            BootstrapServers = Broker.BootstrapServers,
            ConfigureProducer = o => o.Linger = TimeSpan.Zero,
            Observer = observer,
        });

    /// <summary>The demo's unit of work: the order through <see cref="IOrderDatabase.InsertOrderAsync"/> (queued on
    /// <c>context.Redis()</c>) and an OrderPlaced event keyed by the order id.</summary>
    public static Task PlaceOrderAsync(DualWriter writer, IOrderDatabase database, int orderId) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            await database.InsertOrderAsync(context, orderId, 100, ct);
            await context.ProduceAsync(new Client.ProducerRecord(Topic, Key(orderId), Encoding.UTF8.GetBytes("OrderPlaced")), ct);
        }, TestContext.Current.CancellationToken);

    public Task PlaceOrderAsync(DualWriter writer, int orderId) => PlaceOrderAsync(writer, Database, orderId);

    public static byte[] Key(int orderId) => Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture));

    /// <summary>The committed orders, sorted.</summary>
    public async Task<List<int>> ReadRowsAsync()
    {
        var ids = (await Database.ReadOrderIdsAsync(TestContext.Current.CancellationToken)).ToList();
        ids.Sort();
        return ids;
    }

    /// <summary>Every event a read_committed consumer sees, sorted (duplicates kept), read to the last stable offset of
    /// each partition and then 500 ms more so a commit marker still in flight cannot cut the read short.</summary>
    public Task<List<int>> ReadCommittedEventsAsync() => CommittedEvents.ReadOrderIdsAsync(Broker.BootstrapServers, Topic, Partitions);

    /// <summary>The recipe's verdict: committed orders and read_committed events are the same list, each event once.
    /// </summary>
    public async Task<List<int>> AssertRowsEqualEventsAsync(IEnumerable<int> expected)
    {
        var rows = await ReadRowsAsync();
        var events = await ReadCommittedEventsAsync();
        Assert.Equal(expected.Order().ToList(), rows);
        Assert.Equal(rows, events);
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        // Leave nothing behind on the shared server: delete every key of this test's prefix.
        var server = Observer.GetServers()[0];
        await foreach (var key in server.KeysAsync(pattern: Prefix + "*"))
        {
            await Keys.KeyDeleteAsync(key);
        }

        await Observer.DisposeAsync();
        await Database.DisposeAsync();
        if (Broker is not null)
        {
            await Broker.DisposeAsync();
        }

        _directory.Dispose();
    }
}
