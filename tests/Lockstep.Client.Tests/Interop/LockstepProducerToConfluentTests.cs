using Confluent.Kafka;
using Lockstep.Protocol.Records;
using static Lockstep.Client.Tests.Harness.TestToken;
using static Lockstep.Client.Tests.Interop.InteropSupport;
using LockstepCodec = Lockstep.Protocol.Records.CompressionType;

namespace Lockstep.Client.Tests.Interop;

/// <summary>
/// Goal: issue 5's "our producer → Confluent.Kafka": for every codec, what Lockstep's idempotent and transactional
/// producers write is read by librdkafka's read_committed consumer exactly as written — committed transactions once
/// and in order per partition, aborted ones never, keys / values / headers (duplicate keys, null value) intact.
/// Method: the embedded broker on a loopback socket; one idempotent run, then commit / abort / commit transactions
/// over two partitions; librdkafka reads both isolation levels (read_uncommitted proves the aborted records really
/// reached the log); a raw Fetch proves the data batches carry the codec under test.
/// </summary>
[Trait("Issue", "5")]
public sealed class LockstepProducerToConfluentTests
{
    private const string Topic = "from-lockstep";
    private const int Partitions = 2;

    private static KafkaProducerOptions Options(string bootstrap, LockstepCodec codec, string? transactionalId) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = "interop-producer",
        CompressionType = codec,
        TransactionalId = transactionalId,
        // Long enough that concurrently appended records share a batch, so compression has several records to pack.
        Linger = TimeSpan.FromMilliseconds(20),
        RetryBackoff = TimeSpan.FromMilliseconds(10),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(10),
        MaxBlock = TimeSpan.FromSeconds(20),
        DeliveryTimeout = TimeSpan.FromSeconds(30),
    };

    private static ProducerRecord Record(string name, int index) => new(Topic, Encode("key-" + name), Encode(Value(name)))
    {
        Partition = index % Partitions,
        // Duplicate header keys and a null header value must survive, in order (KIP-82).
        Headers = [new RecordHeader("origin", Encode("lockstep")), new RecordHeader("n", Encode(name)), new RecordHeader("n", null)],
    };

    private static SeenRecord Expected(string name, int index) =>
        new(index % Partitions, -1, "key-" + name, Value(name), [("origin", "lockstep"), ("n", name), ("n", null)]);

    /// <summary>Produces records <paramref name="prefix"/>-0..count-1 concurrently, so they are batched together.</summary>
    private static async Task<List<SeenRecord>> ProduceAsync(KafkaProducer producer, string prefix, int count)
    {
        var names = Enumerable.Range(0, count).Select(i => $"{prefix}-{i}").ToList();
        var sends = names.Select((name, i) => producer.ProduceAsync(Record(name, i), Ct)).ToList();
        await producer.FlushAsync(Ct);
        foreach (var send in sends)
        {
            await send;
        }

        return names.Select(Expected).ToList();
    }

    [Theory]
    [MemberData(nameof(AllCodecs), MemberType = typeof(InteropSupport))]
    public async Task Idempotent_and_transactional_records_are_read_committed_by_librdkafka(LockstepCodec codec)
    {
        await using var broker = await TcpBroker.StartAsync("interop-to-confluent");
        await broker.CreateTopicAsync(Topic, Partitions);

        var committed = new List<SeenRecord>();
        var aborted = new List<SeenRecord>();
        await using (var idempotent = new KafkaProducer(Options(broker.Bootstrap, codec, transactionalId: null)))
        {
            committed.AddRange(await ProduceAsync(idempotent, "idempotent", 8));
        }

        await using (var transactional = new KafkaProducer(Options(broker.Bootstrap, codec, "interop-txn")))
        {
            await transactional.InitTransactionsAsync(Ct);
            foreach (var (prefix, count, commit) in new[] { ("txn1", 6, true), ("aborted", 4, false), ("txn3", 4, true) })
            {
                transactional.BeginTransaction();
                var records = await ProduceAsync(transactional, prefix, count);
                if (commit)
                {
                    await transactional.CommitTransactionAsync(Ct);
                    committed.AddRange(records);
                }
                else
                {
                    await transactional.AbortTransactionAsync(Ct);
                    aborted.AddRange(records);
                }
            }
        }

        var readCommitted = await Task.Run(() => ConfluentReadAll(broker.Bootstrap, Topic, Partitions, IsolationLevel.ReadCommitted), Ct);
        var readUncommitted = await Task.Run(() => ConfluentReadAll(broker.Bootstrap, Topic, Partitions, IsolationLevel.ReadUncommitted), Ct);

        for (var partition = 0; partition < Partitions; partition++)
        {
            var p = partition;
            // Exactly the committed records, once each, in production order per partition, content intact.
            Assert.Equal(committed.Where(r => r.Partition == p).Select(r => r.Content),
                readCommitted.Where(r => r.Partition == p).Select(r => r.Content));
            var offsets = readCommitted.Where(r => r.Partition == p).Select(r => r.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);

            // The aborted transaction did reach the log: read_uncommitted sees it where it was written.
            Assert.Equal(
                committed.Concat(aborted).Where(r => r.Partition == p).Select(r => r.Content).Order(StringComparer.Ordinal),
                readUncommitted.Where(r => r.Partition == p).Select(r => r.Content).Order(StringComparer.Ordinal));
            AssertDataBatchesUse(await ReadBatchesAsync(broker.Bootstrap, Topic, p), codec);
        }
    }
}
