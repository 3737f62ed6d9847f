using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;
using Lockstep.Testing;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: kafka-python (the pure-Python client, Debian's python3-kafka, run with Debian's /usr/bin/python3) produces
/// and consumes in a consumer group. Method: a script written to a temp dir produces 500 keyed records with
/// acks=all, then a group consumer (manual commit) reads until it has 500 and commits synchronously; it prints one
/// JSON object. The test then asks the broker, through Confluent.Kafka, for the group's committed offsets.
/// Asserted: every produced value consumed exactly once with its key and, per partition, in send order; the
/// committed offsets equal the partitions' end offsets.
/// </summary>
public sealed class KafkaPythonTests
{
    private const string Script = """
        import json, sys
        from kafka import KafkaProducer, KafkaConsumer, TopicPartition

        bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all', retries=5, linger_ms=5)
        futures = [producer.send(topic, key=('key-%d' % (i % 10)).encode(), value=('py-%05d' % i).encode()) for i in range(count)]
        producer.flush(60)
        acked = [[f.get(timeout=60).partition, f.get(timeout=60).offset] for f in futures]
        producer.close(10)

        consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest',
                                 enable_auto_commit=False, consumer_timeout_ms=30000, session_timeout_ms=10000,
                                 heartbeat_interval_ms=1000)
        consumed = []
        for message in consumer:
            consumed.append([message.partition, message.offset, message.key.decode(), message.value.decode()])
            if len(consumed) >= count:
                break
        consumer.commit()
        consumer.close()
        print(json.dumps({'acked': acked, 'consumed': consumed}))
        """;

    [Fact]
    public async Task Kafka_python_produces_and_consumes_in_a_group()
    {
        var python = KafkaPeers.RequireKafkaPython();
        await using var broker = await InProcessBroker.StartAsync();
        const string topic = "kafka-python";
        const string group = "kafka-python-group";
        const int count = 500;
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, topic, partitions: 3);
        using var scripts = new TempDirectory("kafka-python");
        var script = scripts.Combine("roundtrip.py");
        await File.WriteAllTextAsync(script, Script, TestContext.Current.CancellationToken);

        var result = await ExternalProcess.RunAsync(
            python, [script, broker.BootstrapServers, topic, group, count.ToString(CultureInfo.InvariantCulture)],
            broker.Log, TimeSpan.FromSeconds(180));
        Assert.True(result.ExitCode == 0, $"python exited {result.ExitCode}: {result.Stderr}");

        using var json = JsonDocument.Parse(result.Stdout);
        var acked = json.RootElement.GetProperty("acked").EnumerateArray()
            .Select((a, i) => new Seen(a[0].GetInt32(), a[1].GetInt64(), $"key-{i % 10}", $"py-{i:D5}"))
            .ToList();
        var consumed = json.RootElement.GetProperty("consumed").EnumerateArray()
            .Select(c => new Seen(c[0].GetInt32(), c[1].GetInt64(), c[2].GetString()!, c[3].GetString()!))
            .ToList();
        Verify.ExactlyOnceInOrder(acked, consumed);

        AssertCommittedAtEnd(broker, topic, group, acked);
    }

    internal static void AssertCommittedAtEnd(InProcessBroker broker, string topic, string group, IReadOnlyList<Seen> acked)
    {
        using var consumer = ConfluentClients.ConsumerBuilder(
            ConfluentClients.GroupConsumer(broker.BootstrapServers, group), broker.Log, "offset-check").Build();
        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(topic, p)).ToList();
        var committed = consumer.Committed(partitions, TimeSpan.FromSeconds(30));
        foreach (var offset in committed)
        {
            var written = acked.Where(r => r.Partition == offset.Partition.Value).ToList();
            var expected = written.Count == 0 ? Offset.Unset.Value : written.Max(r => r.Offset) + 1;
            Assert.Equal(expected, offset.Offset.Value);
        }
    }
}
