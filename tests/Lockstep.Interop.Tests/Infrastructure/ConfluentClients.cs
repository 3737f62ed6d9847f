using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>One record as a client saw it: acknowledged by a delivery report, or returned by a consumer.</summary>
public readonly record struct Seen(int Partition, long Offset, string Key, string Value);

/// <summary>
/// Confluent.Kafka (librdkafka) configuration shared by the tests, with librdkafka's own log and errors routed to
/// the test log so a failure shows both sides of the conversation.
/// </summary>
public static class ConfluentClients
{
    public static ProducerConfig IdempotentProducer(string bootstrap, CompressionType compression = CompressionType.None) => new()
    {
        BootstrapServers = bootstrap,
        EnableIdempotence = true,
        Acks = Acks.All,
        CompressionType = compression,
        LingerMs = 5,
        // librdkafka may resolve a host name to ::1 first (client-compat.md); the broker listens on IPv4.
        BrokerAddressFamily = BrokerAddressFamily.V4,
        MessageTimeoutMs = 60_000,
    };

    public static ConsumerConfig GroupConsumer(string bootstrap, string groupId) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = groupId,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        // Above the broker's group.min.session.timeout.ms (6000, as Kafka) and short enough for a bounded test.
        SessionTimeoutMs = 10_000,
        HeartbeatIntervalMs = 1_000,
    };

    public static IProducer<string, string> BuildProducer(ProducerConfig config, TestLog log) =>
        new ProducerBuilder<string, string>(config)
            .SetLogHandler((_, m) => log.Write("librdkafka producer", $"{m.Level} {m.Facility} {m.Message}"))
            .SetErrorHandler((_, e) => log.Write("librdkafka producer", $"error {e.Code} fatal={e.IsFatal}: {e.Reason}"))
            .Build();

    public static ConsumerBuilder<string, string> ConsumerBuilder(ConsumerConfig config, TestLog log, string name = "consumer") =>
        new ConsumerBuilder<string, string>(config)
            .SetLogHandler((_, m) => log.Write($"librdkafka {name}", $"{m.Level} {m.Facility} {m.Message}"))
            .SetErrorHandler((_, e) => log.Write($"librdkafka {name}", $"error {e.Code} fatal={e.IsFatal}: {e.Reason}"));

    /// <summary>CreateTopics through the admin client (replication factor 1: a single node).</summary>
    public static async Task CreateTopicAsync(string bootstrap, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = bootstrap,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        }).Build();
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }],
            new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(30), OperationTimeout = TimeSpan.FromSeconds(30) });
    }

    /// <summary>
    /// Reads every partition of <paramref name="topic"/> from its start to its high watermark with an assigned
    /// (group-less) consumer, in order per partition.
    /// </summary>
    public static List<Seen> ReadAll(string bootstrap, string topic, TestLog log, TimeSpan timeout)
    {
        var config = GroupConsumer(bootstrap, "unused-" + Guid.NewGuid().ToString("N"));
        config.EnablePartitionEof = true;
        using var consumer = ConsumerBuilder(config, log, "reader").Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(30)).Topics.Single().Partitions
            .Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning))
            .ToList();
        consumer.Assign(partitions);
        var result = new List<Seen>();
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow + timeout;
        while (atEnd.Count < partitions.Count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Reading {topic} back took longer than {timeout}; got {result.Count} records.");
            }

            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                atEnd.Add(record.Partition.Value);
                continue;
            }

            result.Add(new Seen(record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value));
        }

        consumer.Close();
        return result;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:F0} s waiting until {what}.");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
