using System.Text;
using Confluent.Kafka;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;
using static Lockstep.Client.Tests.Interop.InteropSupport;
using LockstepCodec = Lockstep.Protocol.Records.CompressionType;

namespace Lockstep.Client.Tests.Interop;

/// <summary>
/// Goal: issue 5's "Confluent.Kafka transactional producer → our consumer": for every codec, Lockstep's consumer with
/// read_committed returns exactly the committed records in order per partition (keys, values, headers intact); with
/// read_uncommitted it also returns the aborted ones, and in both modes never a control record (a transaction marker
/// surfacing as data). Method: librdkafka writes commit / abort / commit transactions over two partitions to the
/// embedded broker on loopback; Lockstep's consumer reads by assignment; a raw Fetch locates the markers and proves
/// the data batches carry the codec under test.
/// </summary>
[Trait("Issue", "5")]
public sealed class ConfluentProducerToLockstepConsumerTests
{
    private const string Topic = "from-librdkafka";
    private const int Partitions = 2;

    private static SeenRecord Expected(string name, int index) =>
        new(index % Partitions, -1, "key-" + name, Value(name), [("origin", "librdkafka"), ("n", name), ("n", null)]);

    private static List<SeenRecord> ProduceWithLibrdkafka(string bootstrap, LockstepCodec codec, List<SeenRecord> aborted)
    {
        var committed = new List<SeenRecord>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            TransactionalId = "librdkafka-interop",
            CompressionType = ToConfluent(codec),
            LingerMs = 20,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        }).Build();
        producer.InitTransactions(WaitTimeout);
        foreach (var (prefix, count, commit) in new[] { ("txn1", 6, true), ("aborted", 4, false), ("txn3", 4, true) })
        {
            producer.BeginTransaction();
            var records = new List<SeenRecord>();
            for (var i = 0; i < count; i++)
            {
                var name = $"{prefix}-{i}";
                var headers = new Headers { { "origin", Encode("librdkafka") }, { "n", Encode(name) }, { "n", null } };
                producer.Produce(new Confluent.Kafka.TopicPartition(Topic, i % Partitions),
                    new Message<byte[], byte[]> { Key = Encode("key-" + name), Value = Encode(Value(name)), Headers = headers },
                    report =>
                    {
                        if (report.Error.IsError)
                        {
                            failures.Add($"{name}: {report.Error.Reason}");
                        }
                    });
                records.Add(Expected(name, i));
            }

            Assert.Equal(0, producer.Flush(WaitTimeout));
            Assert.Empty(failures);
            if (commit)
            {
                producer.CommitTransaction(WaitTimeout);
                committed.AddRange(records);
            }
            else
            {
                producer.AbortTransaction(WaitTimeout);
                aborted.AddRange(records);
            }
        }

        return committed;
    }

    private static async Task<List<ConsumeResult>> ReadAllAsync(string bootstrap, KafkaConsumerIsolationLevel isolation, int expected)
    {
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "interop-consumer",
            IsolationLevel = isolation,
            AutoOffsetReset = KafkaConsumerOffsetReset.Earliest,
            FetchMaxWait = TimeSpan.FromMilliseconds(100),
            RetryBackoff = TimeSpan.FromMilliseconds(10),
        });
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)));
        var records = await ConsumeAsync(consumer, expected);
        // Nothing else follows: no duplicate, no control record delivered as data.
        records.AddRange(await ConsumeUntilQuietAsync(consumer, TimeSpan.FromMilliseconds(300)));
        return records;
    }

    [Theory]
    [MemberData(nameof(AllCodecs), MemberType = typeof(InteropSupport))]
    public async Task Librdkafka_transactions_are_read_by_the_Lockstep_consumer_at_both_isolation_levels(LockstepCodec codec)
    {
        await using var broker = await TcpBroker.StartAsync("interop-from-confluent");
        await broker.CreateTopicAsync(Topic, Partitions);
        var aborted = new List<SeenRecord>();
        var committed = await Task.Run(() => ProduceWithLibrdkafka(broker.Bootstrap, codec, aborted), Ct);

        var readCommitted = await ReadAllAsync(broker.Bootstrap, KafkaConsumerIsolationLevel.ReadCommitted, committed.Count);
        var readUncommitted = await ReadAllAsync(broker.Bootstrap, KafkaConsumerIsolationLevel.ReadUncommitted,
            committed.Count + aborted.Count);

        for (var partition = 0; partition < Partitions; partition++)
        {
            var p = partition;
            var batches = await ReadBatchesAsync(broker.Bootstrap, Topic, p);
            AssertDataBatchesUse(batches, codec);
            // Three transactions touched every partition: three markers each (commit, abort, commit).
            var markerOffsets = batches.Where(b => b.IsControl).Select(b => b.BaseOffset).ToHashSet();
            Assert.Equal(3, markerOffsets.Count);

            var committedHere = readCommitted.Where(r => r.Partition == p).ToList();
            Assert.Equal(committed.Where(r => r.Partition == p).Select(r => r.Content),
                committedHere.Select(r => Seen(r).Content));
            Assert.Equal(committedHere.Select(r => r.Offset).Order(), committedHere.Select(r => r.Offset));

            // read_uncommitted: every data record in log order, the aborted ones included where they were written.
            var allHere = readUncommitted.Where(r => r.Partition == p).ToList();
            Assert.Equal(committed.Concat(aborted).Where(r => r.Partition == p).Select(r => r.Content).Order(StringComparer.Ordinal),
                allHere.Select(r => Seen(r).Content).Order(StringComparer.Ordinal));
            Assert.Equal(allHere.Select(r => r.Offset).Order(), allHere.Select(r => r.Offset));
            Assert.Equal(["txn1", "aborted", "txn3"],
                allHere.Select(r => Encoding.UTF8.GetString(r.Value!).Split('-')[0]).Distinct());

            // Never a control record: no delivered offset is a marker's.
            Assert.DoesNotContain(readCommitted.Concat(readUncommitted), r => r.Partition == p && markerOffsets.Contains(r.Offset));
        }
    }
}
