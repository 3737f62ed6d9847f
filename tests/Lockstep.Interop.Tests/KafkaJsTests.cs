using System.Globalization;
using System.Text.Json;
using Lockstep.Interop.Tests.Infrastructure;
using Lockstep.Testing;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: kafkajs 2.2.4 (pure JavaScript; pinned by js/package-lock.json, installed by ./test.sh) produces and
/// consumes in a consumer group. kafkajs picks min(client max, broker max) per API, ignores the broker's minimum and
/// defaults consumers to read_committed (client-compat.md §2.2). Method: a script in a temp dir produces 500 keyed
/// records with acks=-1 in batches, then a group consumer (auto-commit off, commits each resolved offset) runs until
/// it has 500 and prints one JSON object. Asserted as for kafka-python: exactly once, keys kept, send order per
/// partition, committed offsets equal end offsets.
/// </summary>
public sealed class KafkaJsTests
{
    private const string Script = """
        const { Kafka, logLevel } = require('kafkajs');
        const [bootstrap, topic, group, countText] = process.argv.slice(2);
        const count = Number(countText);
        const kafka = new Kafka({ clientId: 'lockstep-interop', brokers: [bootstrap], logLevel: logLevel.WARN,
                                  retry: { retries: 5 } });
        const timer = setTimeout(() => { console.error('kafkajs script timed out'); process.exit(3); }, 120000);

        (async () => {
          const producer = kafka.producer({ allowAutoTopicCreation: false });
          await producer.connect();
          for (let start = 0; start < count; start += 50) {
            const messages = [];
            for (let i = start; i < Math.min(count, start + 50); i++) {
              messages.push({ key: 'key-' + (i % 10), value: 'js-' + String(i).padStart(5, '0') });
            }
            // Sequential sends keep the send order per partition; send() reports only base offsets per partition.
            await producer.send({ topic, acks: -1, messages });
          }
          await producer.disconnect();

          const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 1000 });
          await consumer.connect();
          await consumer.subscribe({ topic, fromBeginning: true });
          const consumed = [];
          await new Promise((resolve, reject) => {
            consumer.run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                consumed.push([partition, Number(message.offset), message.key.toString(), message.value.toString()]);
                await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
                if (consumed.length >= count) resolve();
              },
            }).catch(reject);
          });
          await consumer.disconnect();
          clearTimeout(timer);
          console.log(JSON.stringify({ consumed }));
        })().catch(e => { console.error(e); process.exit(2); });
        """;

    [Fact]
    public async Task Kafkajs_produces_and_consumes_in_a_group()
    {
        var (node, modules) = KafkaPeers.RequireKafkaJs();
        await using var broker = await InProcessBroker.StartAsync();
        const string topic = "kafkajs";
        const string group = "kafkajs-group";
        const int count = 500;
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, topic, partitions: 3);
        using var scripts = new TempDirectory("kafkajs");
        var script = scripts.Combine("roundtrip.js");
        await File.WriteAllTextAsync(script, Script, TestContext.Current.CancellationToken);

        var result = await ExternalProcess.RunAsync(
            node, [script, broker.BootstrapServers, topic, group, count.ToString(CultureInfo.InvariantCulture)],
            broker.Log, TimeSpan.FromSeconds(180),
            environment: new Dictionary<string, string> { ["NODE_PATH"] = modules, ["KAFKAJS_NO_PARTITIONER_WARNING"] = "1" });
        Assert.True(result.ExitCode == 0, $"node exited {result.ExitCode}: {result.Stderr}");

        using var json = JsonDocument.Parse(result.Stdout);
        var consumed = json.RootElement.GetProperty("consumed").EnumerateArray()
            .Select(c => new Seen(c[0].GetInt32(), c[1].GetInt64(), c[2].GetString()!, c[3].GetString()!))
            .ToList();

        // kafkajs's send() reports base offsets per partition, not per record, so the acknowledged side is rebuilt
        // from the consumed offsets: each value must appear once, keys must map to one partition, and per partition
        // the values (whose numbers encode the send order) must come in increasing order at increasing offsets.
        Assert.Equal(count, consumed.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"js-{i:D5}"), consumed.Select(c => c.Value).Order(StringComparer.Ordinal));
        Assert.All(consumed, c => Assert.Equal($"key-{int.Parse(c.Value[3..], CultureInfo.InvariantCulture) % 10}", c.Key));
        Assert.All(consumed.GroupBy(c => c.Key), key => Assert.Single(key.Select(c => c.Partition).Distinct()));
        var sendOrder = consumed.OrderBy(c => c.Value, StringComparer.Ordinal).ToList();
        Verify.AcknowledgedInSendOrder(sendOrder);
        Verify.ConsumedInOffsetOrder(consumed);

        KafkaPythonTests.AssertCommittedAtEnd(broker, topic, group, consumed);
    }
}
