using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;

namespace Lockstep.Interop.Tests.Transactions;

/// <summary>
/// Goal: Confluent.Kafka's exactly-once consume-transform-produce loop against the broker (KIP-98 + KIP-447:
/// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn/TxnOffsetCommit with group metadata, EndTxn, read_committed
/// Fetch, OffsetFetch RequireStable). Method: 300 input records in 2 partitions; a transactional producer and a
/// read_committed group consumer process them in transactions of up to 20 records, each output tagged with its
/// transaction number; ~30% of transactions are aborted (seeded), after which the consumer seeks back to the group's
/// committed position and the input is processed again. Asserted: a read_committed reader of the output sees every
/// input's transformation exactly once, only from committed transactions, and the group's committed offsets equal
/// the input end offsets.
/// </summary>
public sealed class ConsumeTransformProduceTests
{
    private const int Count = 300;
    private const int MaxPerTransaction = 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Exactly_once_with_random_aborts()
    {
        await using var broker = await InProcessBroker.StartAsync();
        const string input = "ctp-in";
        const string output = "ctp-out";
        const string group = "ctp-group";
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, input, partitions: 2);
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, output, partitions: 2);

        using (var seed = ConfluentClients.BuildProducer(ConfluentClients.IdempotentProducer(broker.BootstrapServers), broker.Log))
        {
            await Task.WhenAll(Enumerable.Range(0, Count).Select(i =>
                seed.ProduceAsync(input, new Message<string, string> { Key = $"k{i % 7}", Value = $"in-{i:D4}" },
                    TestContext.Current.CancellationToken)));
        }

        var producerConfig = ConfluentClients.IdempotentProducer(broker.BootstrapServers);
        producerConfig.TransactionalId = "ctp-producer";
        producerConfig.TransactionTimeoutMs = 60_000;
        using var producer = ConfluentClients.BuildProducer(producerConfig, broker.Log);
        producer.InitTransactions(Timeout);

        var consumerConfig = ConfluentClients.GroupConsumer(broker.BootstrapServers, group);
        consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
        using var consumer = ConfluentClients.ConsumerBuilder(consumerConfig, broker.Log).Build();
        consumer.Subscribe(input);

        var random = new Random(20240611);
        var committedTransactions = new HashSet<int>();
        var committedInputs = 0;
        var aborted = 0;
        var transaction = 0;
        var deadline = DateTime.UtcNow.AddSeconds(150);
        while (committedInputs < Count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"processing stalled at {committedInputs}/{Count} committed inputs");
            var batch = new List<ConsumeResult<string, string>>();
            while (batch.Count < MaxPerTransaction)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(batch.Count == 0 ? 500 : 50));
                if (record is null)
                {
                    break;
                }

                batch.Add(record);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            transaction++;
            producer.BeginTransaction();
            var sends = batch.Select(record => producer.ProduceAsync(output, new Message<string, string>
            {
                Key = record.Message.Key,
                Value = $"{record.Message.Value}|txn-{transaction}",
            }, TestContext.Current.CancellationToken)).ToList();
            await Task.WhenAll(sends);

            var positions = batch.GroupBy(r => r.TopicPartition)
                .Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1))
                .ToList();
            producer.SendOffsetsToTransaction(positions, consumer.ConsumerGroupMetadata, Timeout);
            if (random.NextDouble() < 0.3)
            {
                producer.AbortTransaction(Timeout);
                aborted++;
                // Rewind to the group's committed position (what a restarted instance would resume from).
                foreach (var committed in consumer.Committed(consumer.Assignment, Timeout))
                {
                    consumer.Seek(new TopicPartitionOffset(committed.TopicPartition,
                        committed.Offset == Offset.Unset ? Offset.Beginning : committed.Offset));
                }
            }
            else
            {
                producer.CommitTransaction(Timeout);
                committedTransactions.Add(transaction);
                committedInputs += batch.Count;
            }
        }

        Assert.True(aborted > 0, "the seeded sequence aborted no transaction");

        var outputs = ConfluentClients.ReadAll(broker.BootstrapServers, output, broker.Log, Timeout);
        var parsed = outputs.Select(o => o.Value.Split('|')).ToList();
        Assert.All(parsed, p => Assert.Contains(int.Parse(p[1]["txn-".Length..], System.Globalization.CultureInfo.InvariantCulture), committedTransactions));
        Assert.Equal(
            Enumerable.Range(0, Count).Select(i => $"in-{i:D4}"),
            parsed.Select(p => p[0]).Order(StringComparer.Ordinal));

        var inputPartitions = new[] { 0, 1 }.Select(p => new TopicPartition(input, p)).ToList();
        var groupOffsets = consumer.Committed(inputPartitions, Timeout);
        foreach (var partition in inputPartitions)
        {
            var end = consumer.QueryWatermarkOffsets(partition, Timeout).High;
            Assert.Equal(end, groupOffsets.Single(o => o.TopicPartition == partition).Offset);
        }

        consumer.Close();
    }
}
