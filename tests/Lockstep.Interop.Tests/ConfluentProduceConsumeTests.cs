using System.Collections.Concurrent;
using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: Confluent.Kafka (librdkafka) with its strictest common producer settings (idempotence, acks=all) works
/// with every compression codec, and a consumer group reads back exactly what was acknowledged. Method: a fresh
/// in-process broker per test; CreateTopics with 3 partitions; 5,000 keyed records (64 keys, compressible values);
/// every delivery report recorded; then one group consumer with librdkafka's default isolation level
/// (read_committed, which must work because without transactions the LSO equals the high watermark) reads until it
/// has as many records as were acknowledged, commits, and the committed offsets are read back. Asserted: no delivery
/// error; per partition the acknowledged offsets follow send order; every acknowledged record consumed exactly once,
/// at its acknowledged partition and offset, with its key; one partition per key; committed offset = end offset.
/// </summary>
public sealed class ConfluentProduceConsumeTests
{
    private const int RecordCount = 5_000;

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task Idempotent_acks_all_producer_then_group_consumer_sees_every_record_once_in_order(CompressionType codec)
    {
        await using var broker = await InProcessBroker.StartAsync();
        var topic = $"codec-{codec.ToString().ToLowerInvariant()}";
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, topic, partitions: 3);

        var acknowledged = Produce(broker, topic, codec);

        var consumed = new List<Seen>();
        var groupId = "group-" + topic;
        using (var consumer = ConsumerFor(broker, groupId))
        {
            consumer.Subscribe(topic);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (consumed.Count < acknowledged.Count && DateTime.UtcNow < deadline)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
                if (record is { IsPartitionEOF: false })
                {
                    consumed.Add(new Seen(record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value));
                }
            }

            // Nothing beyond what was acknowledged may arrive (a duplicate would show up here).
            var extra = consumer.Consume(TimeSpan.FromSeconds(1));
            Assert.Null(extra);

            consumer.Commit();
            var committed = consumer.Committed(TimeSpan.FromSeconds(15));
            foreach (var offset in committed)
            {
                var expected = acknowledged.Where(r => r.Partition == offset.Partition.Value).Max(r => r.Offset) + 1;
                Assert.Equal(expected, offset.Offset.Value);
            }

            Assert.Equal(3, committed.Count);
            consumer.Close();
        }

        Verify.ExactlyOnceInOrder(acknowledged, consumed);
        Assert.All(acknowledged.GroupBy(r => r.Key), key => Assert.Single(key.Select(r => r.Partition).Distinct()));
        Assert.Equal(3, acknowledged.Select(r => r.Partition).Distinct().Count());
    }

    private static List<Seen> Produce(InProcessBroker broker, string topic, CompressionType codec)
    {
        var reports = new ConcurrentQueue<(int Index, DeliveryReport<string, string> Report)>();
        using (var producer = ConfluentClients.BuildProducer(
            ConfluentClients.IdempotentProducer(broker.BootstrapServers, codec), broker.Log))
        {
            for (var i = 0; i < RecordCount; i++)
            {
                var index = i;
                // Repetitive text so that the codecs actually compress; the index makes each value unique.
                var value = $"{codec}-{i:D6} " + string.Concat(Enumerable.Repeat("lockstep ", 1 + (i % 20)));
                producer.Produce(topic, new Message<string, string> { Key = $"key-{i % 64}", Value = value },
                    report => reports.Enqueue((index, report)));
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        var failed = reports.Where(r => r.Report.Error.IsError).ToList();
        Assert.True(failed.Count == 0,
            $"{failed.Count} delivery errors, first: {failed.FirstOrDefault().Report?.Error}");
        Assert.Equal(RecordCount, reports.Count);
        return [.. reports.OrderBy(r => r.Index).Select(r => new Seen(
            r.Report.Partition.Value, r.Report.Offset.Value, r.Report.Message.Key, r.Report.Message.Value))];
    }

    private static IConsumer<string, string> ConsumerFor(InProcessBroker broker, string groupId)
    {
        // IsolationLevel left at librdkafka's default, read_committed, on purpose (see the class comment).
        var config = ConfluentClients.GroupConsumer(broker.BootstrapServers, groupId);
        return ConfluentClients.ConsumerBuilder(config, broker.Log).Build();
    }
}
