using System.Text;
using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: committed transactions are visible to read_committed readers and aborted ones never are, under both
/// transaction protocols (KIP-890 TV2 when the broker finalizes transaction.version=2, TV1 with AddPartitionsToTxn
/// otherwise); fencing and state errors surface as the documented exception types. Method: a transactional producer
/// against the embedded broker; the partition is read back with raw Fetch at both isolation levels.
/// </summary>
public sealed class TransactionTests
{
    public static TheoryData<string> TransactionVersions => new() { "1", "2" };

    private static KafkaProducerOptions TransactionalOptions(ClientTestBroker broker, string transactionalId)
    {
        var options = broker.ProducerOptions();
        options.TransactionalId = transactionalId;
        return options;
    }

    [Theory]
    [MemberData(nameof(TransactionVersions))]
    public async Task Committed_records_are_visible_and_aborted_ones_are_not(string transactionVersion)
    {
        await using var broker = await ClientTestBroker.StartAsync(
            new Dictionary<string, string> { ["transaction.version"] = transactionVersion });
        await using (var producer = new KafkaProducer(TransactionalOptions(broker, "tx-basic")))
        {
            await producer.InitTransactionsAsync(Ct);

            producer.BeginTransaction();
            await producer.ProduceAsync(new ProducerRecord("txn", null, "c1"u8.ToArray()) { Partition = 0 }, Ct);
            await producer.ProduceAsync(new ProducerRecord("txn", null, "c2"u8.ToArray()) { Partition = 0 }, Ct);
            await producer.CommitTransactionAsync(Ct);

            producer.BeginTransaction();
            await producer.ProduceAsync(new ProducerRecord("txn", null, "a1"u8.ToArray()) { Partition = 0 }, Ct);
            await producer.AbortTransactionAsync(Ct);

            producer.BeginTransaction();
            await producer.ProduceAsync(new ProducerRecord("txn", null, "c3"u8.ToArray()) { Partition = 0 }, Ct);
            await producer.CommitTransactionAsync(Ct);
        }

        await using var client = broker.RawClient();
        var committed = await LogReader.ReadAsync(client, "txn", 0, isolationLevel: 1);
        Assert.Equal(["c1", "c2", "c3"], committed.Records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.All(committed.Records, r => Assert.True(r.Transactional));

        var uncommitted = await LogReader.ReadAsync(client, "txn", 0, isolationLevel: 0);
        Assert.Equal(["c1", "c2", "a1", "c3"], uncommitted.Records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(committed.HighWatermark, committed.LastStableOffset); // nothing left open
    }

    [Fact]
    public async Task Open_transaction_holds_back_the_last_stable_offset()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var producer = new KafkaProducer(TransactionalOptions(broker, "tx-open"));
        await producer.InitTransactionsAsync(Ct);
        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord("open", null, "x"u8.ToArray()) { Partition = 0 }, Ct);

        await using var client = broker.RawClient();
        var readCommitted = await LogReader.ReadAsync(client, "open", 0, isolationLevel: 1);
        Assert.Empty(readCommitted.Records);
        Assert.Equal(0, readCommitted.LastStableOffset);

        await producer.CommitTransactionAsync(Ct);
        readCommitted = await LogReader.ReadAsync(client, "open", 0, isolationLevel: 1);
        Assert.Equal("x", Encoding.UTF8.GetString(Assert.Single(readCommitted.Records).Value!));
    }

    [Fact]
    public async Task State_errors_are_InvalidOperationException_with_guidance()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var producer = new KafkaProducer(TransactionalOptions(broker, "tx-state"));

        var beforeInit = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            producer.ProduceAsync("t", null, [1], Ct));
        Assert.Contains("InitTransactionsAsync", beforeInit.Message, StringComparison.Ordinal);

        await producer.InitTransactionsAsync(Ct);
        var outside = await Assert.ThrowsAsync<InvalidOperationException>(() => producer.ProduceAsync("t", null, [1], Ct));
        Assert.Contains("BeginTransaction", outside.Message, StringComparison.Ordinal);

        producer.BeginTransaction();
        Assert.Throws<InvalidOperationException>(producer.BeginTransaction);

        // Preparing needs the 2PC opt-in.
        var prepare = await Assert.ThrowsAsync<InvalidOperationException>(() => producer.PrepareTransactionAsync(Ct));
        Assert.Contains("transaction.two.phase.commit.enable", prepare.Message, StringComparison.Ordinal);
        await producer.AbortTransactionAsync(Ct);
    }

    [Fact]
    public async Task A_second_producer_with_the_same_id_fences_the_first()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var zombie = new KafkaProducer(TransactionalOptions(broker, "tx-fence"));
        await zombie.InitTransactionsAsync(Ct);
        zombie.BeginTransaction();
        await zombie.ProduceAsync(new ProducerRecord("fence", null, "z"u8.ToArray()) { Partition = 0 }, Ct);

        await using var successor = new KafkaProducer(TransactionalOptions(broker, "tx-fence"));
        await successor.InitTransactionsAsync(Ct);

        // The zombie's commit is rejected as fenced (fatal); its open transaction was aborted by the successor.
        await Assert.ThrowsAsync<ProducerFencedException>(() => zombie.CommitTransactionAsync(Ct));
        await Assert.ThrowsAsync<ProducerFencedException>(() => zombie.AbortTransactionAsync(Ct));

        successor.BeginTransaction();
        await successor.ProduceAsync(new ProducerRecord("fence", null, "s"u8.ToArray()) { Partition = 0 }, Ct);
        await successor.CommitTransactionAsync(Ct);

        await using var client = broker.RawClient();
        var committed = await LogReader.ReadAsync(client, "fence", 0, isolationLevel: 1);
        Assert.Equal(["s"], committed.Records.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Theory]
    [MemberData(nameof(TransactionVersions))]
    public async Task SendOffsetsToTransaction_commits_offsets_with_the_transaction(string transactionVersion)
    {
        await using var broker = await ClientTestBroker.StartAsync(
            new Dictionary<string, string> { ["transaction.version"] = transactionVersion });
        await using var client = broker.RawClient();

        // The consumed topic must exist: TxnOffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION otherwise, as Kafka does.
        await client.SendAsync<Lockstep.Protocol.Messages.MetadataRequest, Lockstep.Protocol.Messages.MetadataResponse>(
            new Lockstep.Protocol.Messages.MetadataRequest { Topics = [new() { Name = "in" }], AllowAutoTopicCreation = true },
            cancellationToken: Ct);
        await using var producer = new KafkaProducer(TransactionalOptions(broker, "tx-offsets"));
        await producer.InitTransactionsAsync(Ct);
        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord("out", null, "o"u8.ToArray()) { Partition = 0 }, Ct);
        await producer.SendOffsetsToTransactionAsync(
            new Dictionary<TopicPartition, OffsetAndMetadata> { [new("in", 0)] = new(42) },
            new ConsumerGroupMetadata("group-1"), Ct);
        await producer.CommitTransactionAsync(Ct);

        var fetch = await client.SendAsync<Lockstep.Protocol.Messages.OffsetFetchRequest, Lockstep.Protocol.Messages.OffsetFetchResponse>(
            new Lockstep.Protocol.Messages.OffsetFetchRequest
            {
                GroupId = "group-1",
                Topics = [new() { Name = "in", PartitionIndexes = [0] }],
                RequireStable = true,
            }, maxVersion: 7, cancellationToken: Ct);
        Assert.Equal(42, fetch.Topics.Single().Partitions.Single().CommittedOffset);
    }
}
