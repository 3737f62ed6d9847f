using System.Text;
using Confluent.Kafka;
using Lockstep.Broker;
using Lockstep.Client.Admin;
using Lockstep.Testing;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: issue 5's "librdkafka transactional producer → our consumer": records of committed transactions arrive
/// once and in order, aborted ones never, compressed batches decode, and the committed group position lies after
/// the final marker. Method: the embedded broker on a loopback socket; Confluent.Kafka (librdkafka) writes
/// commit / abort / commit transactions with lz4; Lockstep's consumer reads as a group member over TCP.
/// </summary>
public sealed class ConfluentTransactionalInteropTests
{
    [Fact]
    public async Task Librdkafka_transactions_are_read_committed_by_the_Lockstep_consumer()
    {
        using var data = new TempDirectory("client-interop");
        await using var broker = await KafkaBroker.StartAsync(
            new BrokerOptions { DataDirectory = data.Path, Listen = "127.0.0.1:0" }, Ct);
        var bootstrap = broker.BootstrapServers;
        await using (var admin = new KafkaAdminClient(new KafkaAdminClientOptions { BootstrapServers = bootstrap }))
        {
            await admin.CreateTopicsAsync([new NewTopic("interop", 1, 1)], cancellationToken: Ct);
        }

        await Task.Run(() =>
        {
            using var producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = bootstrap,
                TransactionalId = "librdkafka-txn",
                CompressionType = CompressionType.Lz4,
                BrokerAddressFamily = BrokerAddressFamily.V4,
                LingerMs = 5,
            }).Build();
            var timeout = TimeSpan.FromSeconds(30);
            producer.InitTransactions(timeout);
            foreach (var (prefix, count, commit) in new[] { ("first", 5, true), ("aborted", 3, false), ("second", 2, true) })
            {
                producer.BeginTransaction();
                for (var i = 0; i < count; i++)
                {
                    producer.Produce("interop", new Message<string, string> { Key = $"{prefix}-{i}", Value = $"{prefix}-{i}" });
                }

                producer.Flush(timeout);
                if (commit)
                {
                    producer.CommitTransaction(timeout);
                }
                else
                {
                    producer.AbortTransaction(timeout);
                }
            }
        }, Ct);

        var options = new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            GroupId = "interop-readers",
            AutoOffsetReset = KafkaConsumerOffsetReset.Earliest,
            SessionTimeout = TimeSpan.FromSeconds(10),
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            FetchMaxWait = TimeSpan.FromMilliseconds(100),
        };
        var partition = new TopicPartition("interop", 0);
        await using var consumer = new KafkaConsumer(options);
        consumer.Subscribe(["interop"]);
        var records = await ConsumeAsync(consumer, 7);
        Assert.Equal(
            ["first-0", "first-1", "first-2", "first-3", "first-4", "second-0", "second-1"],
            records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(records.Select(r => Encoding.UTF8.GetString(r.Key!)), records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Empty(await ConsumeUntilQuietAsync(consumer, TimeSpan.FromMilliseconds(500)));

        // The final COMMIT marker follows the last record, so the position is two past it.
        var position = await consumer.PositionAsync(partition, Ct);
        Assert.Equal(records[^1].Offset + 2, position);
        await consumer.CommitAsync(Ct);
        Assert.Equal(position, (await consumer.CommittedAsync([partition], Ct))[partition]!.Value.Offset);
    }
}
