using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Lockstep.Broker;
using Lockstep.DualWrite.Sqlite;
using Lockstep.Testing;
using Microsoft.Data.Sqlite;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// One test's world: an embedded broker on TCP, a SQLite file with an <c>orders</c> table, the <c>orders</c> topic,
/// and the two views to compare — committed DB rows and what a read_committed consumer (librdkafka, sharing no code
/// with the writer) sees.
/// </summary>
internal sealed class DualWriteHarness : IAsyncDisposable
{
    public const string Topic = "orders";

    private readonly TempDirectory _directory;

    private DualWriteHarness(TempDirectory directory, KafkaBroker broker, SqliteDualWriteStore store, string databasePath)
    {
        _directory = directory;
        Broker = broker;
        Store = store;
        DatabasePath = databasePath;
    }

    public KafkaBroker Broker { get; }

    public SqliteDualWriteStore Store { get; }

    public string DatabasePath { get; }

    public string Bootstrap => Broker.BootstrapServers;

    public static async Task<DualWriteHarness> StartAsync()
    {
        var directory = new TempDirectory("dualwrite");
        var broker = await KafkaBroker.StartAsync(new BrokerOptions
        {
            DataDirectory = directory.Combine("broker"),
            Listen = "127.0.0.1:0",
            Settings = { ["lockstep.durability"] = "os" },
        });
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 3, ReplicationFactor = 1 }]);
        }

        var databasePath = directory.Combine("app.db");
        var store = SqliteDualWriteStore.ForFile(databasePath);
        await using var connection = await store.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, amount_cents INTEGER NOT NULL, placed_by TEXT NOT NULL);";
        await command.ExecuteNonQueryAsync();
        return new DualWriteHarness(directory, broker, store, databasePath);
    }

    public DualWriter CreateWriter(string transactionalId, IDualWriteObserver? observer = null, IDualWriteStore? store = null) =>
        new(store ?? Store, new DualWriterOptions
        {
            TransactionalId = transactionalId,
            BootstrapServers = Bootstrap,
            ConfigureProducer = o => o.Linger = TimeSpan.Zero,
            Observer = observer,
        });

    /// <summary>The demo's unit of work: INSERT the order, produce OrderPlaced keyed by the order id.</summary>
    public static Task PlaceOrderAsync(DualWriter writer, int orderId, CancellationToken cancellationToken = default) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            await using (var insert = context.CreateCommand("INSERT INTO orders (order_id, amount_cents, placed_by) VALUES ($id, 100, $by);"))
            {
                insert.Parameters.Add(new SqliteParameter("$id", orderId));
                insert.Parameters.Add(new SqliteParameter("$by", context.TransactionalId));
                await insert.ExecuteNonQueryAsync(ct);
            }

            await context.ProduceAsync(new Client.ProducerRecord(Topic, Key(orderId), Encoding.UTF8.GetBytes("OrderPlaced")), ct);
        }, cancellationToken);

    public static byte[] Key(int orderId) => Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture));

    public async Task<List<int>> ReadRowsAsync()
    {
        await using var connection = await Store.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT order_id FROM orders ORDER BY order_id;";
        var ids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt32(0));
        }

        return ids;
    }

    public async Task<string?> ReadStoredTokenAsync(string transactionalId) =>
        await Store.ReadCommittedTokenAsync(transactionalId, CancellationToken.None);

    /// <summary>Every event a read_committed consumer sees, sorted (duplicates kept), reading to the last stable
    /// offset of each partition and then 500 ms more so a commit marker still in flight cannot cut the read short.
    /// </summary>
    public Task<List<int>> ReadCommittedEventsAsync() => Task.Run(() =>
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = Bootstrap,
            GroupId = "verifier-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)));
        var ids = new List<int>();
        var atEnd = new HashSet<int>();
        var stopwatch = Stopwatch.StartNew();
        var quietSince = TimeSpan.MaxValue;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null)
            {
                if (atEnd.Count == 3 && stopwatch.Elapsed - quietSince > TimeSpan.FromMilliseconds(500))
                {
                    ids.Sort();
                    return ids;
                }

                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                quietSince = atEnd.Count == 3 ? stopwatch.Elapsed : TimeSpan.MaxValue;
                continue;
            }

            atEnd.Remove(result.Partition.Value);
            quietSince = TimeSpan.MaxValue;
            ids.Add(int.Parse(Encoding.UTF8.GetString(result.Message.Key), CultureInfo.InvariantCulture));
        }

        throw new TimeoutException("read_committed consumer did not reach the end of every partition in 30 s");
    });

    /// <summary>The core assertion of the recipe: committed rows and read_committed events are the same set, each
    /// event exactly once.</summary>
    public async Task AssertRowsEqualEventsAsync(int? expectedCount = null)
    {
        var rows = await ReadRowsAsync();
        var events = await ReadCommittedEventsAsync();
        Assert.Equal(rows, events);
        if (expectedCount is { } count)
        {
            Assert.Equal(count, rows.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
