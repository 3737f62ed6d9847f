using System.Text;
using Confluent.Kafka;
using Lockstep.Broker;
using Lockstep.Client;
using Lockstep.DualWrite.Sqlite;
using Lockstep.Testing;

// The snippet must read exactly as in README.md, so it does not thread xUnit's cancellation token.
#pragma warning disable xUnit1051

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// README.md's C# quickstart, compiled and run (style-guide.md §3.10: doc snippets are tests). The body between the
/// markers is the README's code; the test then checks the promise: the row and exactly one read_committed event.
/// </summary>
public sealed class ReadmeQuickstartTests
{
    [Fact]
    public async Task Readme_quickstart_commits_the_row_and_the_event_together()
    {
        using var temp = new TempDirectory();
        var dir = temp.Path;
        await CreateOrdersTableAsync(Path.Combine(dir, "app.db"));

        // --- README quickstart begins ---
        await using var broker = await KafkaBroker.StartAsync(new BrokerOptions { Listen = "127.0.0.1:0", DataDirectory = dir });
        var store = SqliteDualWriteStore.ForFile(Path.Combine(dir, "app.db"));
        await using var writer = new DualWriter(store, new DualWriterOptions
        {
            TransactionalId = "orders-writer-0",
            BootstrapServers = broker.BootstrapServers,
        });
        await writer.RecoverAsync();
        await writer.ExecuteAsync(async (unit, ct) =>
        {
            using var insert = unit.CreateCommand("INSERT INTO orders(id, total) VALUES (42, 99.5)");
            await insert.ExecuteNonQueryAsync(ct);
            await unit.ProduceAsync(new ProducerRecord("orders", "42"u8.ToArray(), "placed"u8.ToArray()), ct);
        });
        // --- README quickstart ends ---

        await using (var connection = await store.OpenConnectionAsync())
        {
            using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM orders WHERE id = 42";
            Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
        }

        var events = await Task.Run(() => ReadCommitted(broker.BootstrapServers, "orders"));
        var single = Assert.Single(events);
        Assert.Equal("42", single.Key);
        Assert.Equal("placed", single.Value);
    }

    private static async Task CreateOrdersTableAsync(string path)
    {
        await using var connection = await SqliteDualWriteStore.ForFile(path).OpenConnectionAsync();
        using var create = connection.CreateCommand();
        create.CommandText = "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL NOT NULL)";
        await create.ExecuteNonQueryAsync();
    }

    private static List<(string Key, string Value)> ReadCommitted(string bootstrap, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "readme-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var seen = new List<(string, string)>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (DateTimeOffset.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                return seen;
            }

            seen.Add((Encoding.UTF8.GetString(result.Message.Key), Encoding.UTF8.GetString(result.Message.Value)));
        }

        throw new TimeoutException("read_committed consumer did not reach the end of the partition in 30 s");
    }
}
