using System.Text.Json;
using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;
using Lockstep.Testing;

namespace Lockstep.Interop.Tests.Transactions;

/// <summary>
/// Goal (issue 4): a kafkajs 2.2.4 read_committed group consumer stops at the last stable offset of an open
/// transaction and never delivers aborted data, like the Confluent.Kafka, kcat and python confluent-kafka readers in
/// <see cref="ReadCommittedPeersTests"/>. kafkajs maps <c>readUncommitted: false</c> (its default; set explicitly
/// here) to isolation_level=1 in Fetch and ListOffsets (kafkajs src/index.js) and drops aborted records itself from
/// the Fetch response's aborted_transactions list (KIP-98), so this checks that the broker bounds the fetch by the LSO
/// and reports the aborted transaction to a client other than librdkafka. Method: a Confluent.Kafka transactional
/// producer writes a committed (c0..c4), an aborted (a0..a4) and an open (o0..o4) transaction to a 1-partition topic.
/// A kafkajs consumer in a group reads from the beginning until it has c0..c4, keeps fetching for a quiet window and
/// must have seen nothing else. Then the open transaction commits; the same group resumes from its committed offset
/// (before the aborted transaction) and must see exactly o0..o4, and a fresh group from the beginning must see
/// c0..c4 then o0..o4. Waits are bounded; nothing asserts timing.
/// </summary>
public sealed class KafkaJsReadCommittedTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Consumes until every expected value has arrived, then keeps the consumer fetching for quietMs so anything
    /// beyond the expected values (open or aborted data) would be recorded too, and prints every record it saw.
    /// maxWaitTimeInMs is short so the quiet window spans several Fetch round trips rather than one long poll.
    /// </summary>
    private const string Reader = """
        const { Kafka, logLevel } = require('kafkajs');
        const [bootstrap, topic, group, expectedJson, quietText] = process.argv.slice(2);
        const expected = JSON.parse(expectedJson);
        const quietMs = Number(quietText);
        const kafka = new Kafka({ clientId: 'lockstep-rc', brokers: [bootstrap], logLevel: logLevel.WARN,
                                  retry: { retries: 5 } });
        const consumed = [];
        const timer = setTimeout(() => {
          console.error('kafkajs reader timed out waiting for ' + expectedJson);
          console.log(JSON.stringify({ consumed }));
          process.exit(3);
        }, 60000);

        (async () => {
          const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 500,
                                            sessionTimeout: 10000, heartbeatInterval: 1000 });
          await consumer.connect();
          await consumer.subscribe({ topic, fromBeginning: true });
          await new Promise((resolve, reject) => {
            consumer.run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                consumed.push([partition, Number(message.offset), message.value.toString()]);
                await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
                if (expected.every(v => consumed.some(c => c[2] === v))) resolve();
              },
            }).catch(reject);
          });
          await new Promise(resolve => setTimeout(resolve, quietMs));
          await consumer.disconnect();
          clearTimeout(timer);
          console.log(JSON.stringify({ consumed }));
        })().catch(e => { console.error(e); process.exit(2); });
        """;

    [Fact]
    public async Task Kafkajs_read_committed_consumer_stops_at_the_LSO_and_skips_aborted_data()
    {
        var (node, modules) = KafkaPeers.RequireKafkaJs();
        await using var broker = await InProcessBroker.StartAsync();
        const string topic = "kafkajs-read-committed";
        const string group = "kafkajs-rc";
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, topic, partitions: 1);
        using var scripts = new TempDirectory("kafkajs-read-committed");
        var script = scripts.Combine("reader.js");
        await File.WriteAllTextAsync(script, Reader, TestContext.Current.CancellationToken);

        var config = ConfluentClients.IdempotentProducer(broker.BootstrapServers);
        config.TransactionalId = "kafkajs-rc-producer";
        using var producer = ConfluentClients.BuildProducer(config, broker.Log);
        producer.InitTransactions(Timeout);
        producer.BeginTransaction();
        await ProduceAsync(producer, topic, "c");
        producer.CommitTransaction(Timeout);
        producer.BeginTransaction();
        await ProduceAsync(producer, topic, "a");
        producer.AbortTransaction(Timeout);
        producer.BeginTransaction();
        await ProduceAsync(producer, topic, "o");

        // Log layout: c0..c4 at 0-4, commit marker 5, a0..a4 at 6-10, abort marker 11, o0..o4 at 12-16; LSO = 12.
        // The aborted records lie below the LSO, so the broker returns them and kafkajs must drop them using the
        // aborted_transactions entry; the open ones lie at or above the LSO and must not be returned at all.
        var committed = Values("c");
        var open = Values("o");
        var firstRun = await ReadAsync(broker, node, modules, script, topic, group, committed);
        Assert.Equal(committed, firstRun.Select(s => s.Value));
        Assert.Equal([0L, 1, 2, 3, 4], firstRun.Select(s => s.Offset));

        producer.CommitTransaction(Timeout);

        // The group committed offset 5 (after c4), so it resumes before the aborted transaction: the fetch from 5
        // returns the commit marker and a0..a4, which kafkajs must skip, then o0..o4.
        var resumed = await ReadAsync(broker, node, modules, script, topic, group, open);
        Assert.Equal(open, resumed.Select(s => s.Value));
        Assert.Equal([12L, 13, 14, 15, 16], resumed.Select(s => s.Offset));

        var everything = committed.Concat(open).ToList();
        var fresh = await ReadAsync(broker, node, modules, script, topic, group + "-fresh", everything);
        Assert.Equal(everything, fresh.Select(s => s.Value));
        Assert.All(fresh, s => Assert.Equal(0, s.Partition));
    }

    private static List<string> Values(string tag) => [.. Enumerable.Range(0, 5).Select(i => $"{tag}{i}")];

    private static async Task ProduceAsync(IProducer<string, string> producer, string topic, string tag)
    {
        foreach (var value in Values(tag))
        {
            await producer.ProduceAsync(topic, new Message<string, string> { Key = tag, Value = value },
                TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Runs the kafkajs reader until it has <paramref name="expected"/> plus a 3 s quiet window; returns all it saw.</summary>
    private static async Task<List<Read>> ReadAsync(InProcessBroker broker, string node, string modules, string script,
        string topic, string group, IReadOnlyList<string> expected)
    {
        var result = await ExternalProcess.RunAsync(
            node, [script, broker.BootstrapServers, topic, group, JsonSerializer.Serialize(expected), "3000"],
            broker.Log, TimeSpan.FromSeconds(120),
            environment: new Dictionary<string, string> { ["NODE_PATH"] = modules, ["KAFKAJS_NO_PARTITIONER_WARNING"] = "1" });
        Assert.True(result.ExitCode == 0, $"kafkajs reader exited {result.ExitCode}: {result.Stderr}\n{result.Stdout}");
        using var json = JsonDocument.Parse(result.Stdout);
        return [.. json.RootElement.GetProperty("consumed").EnumerateArray()
            .Select(c => new Read(c[0].GetInt32(), c[1].GetInt64(), c[2].GetString()!))];
    }

    private readonly record struct Read(int Partition, long Offset, string Value);
}
