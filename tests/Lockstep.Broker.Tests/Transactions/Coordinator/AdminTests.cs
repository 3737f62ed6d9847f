using Lockstep.Broker.Tests.Groups;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>ListTransactions filters, DescribeTransactions fields and the transaction metrics.</summary>
public sealed class AdminTests
{
    private static async Task<ListTransactionsResponse> ListAsync(RawKafkaClient client, short version, string[]? states = null,
        long[]? producerIds = null, long duration = -1, string? pattern = null) =>
        await client.SendAsync<ListTransactionsRequest, ListTransactionsResponse>(new ListTransactionsRequest
        {
            StateFilters = [.. states ?? []],
            ProducerIdFilters = [.. producerIds ?? []],
            DurationFilter = duration,
            TransactionalIdPattern = pattern,
        }, version);

    private static string[] Ids(ListTransactionsResponse response) =>
        [.. response.TransactionStates.Select(s => s.TransactionalId).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task List_transactions_filters_by_state_producer_duration_and_pattern()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(time: clock);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (oldPid, _) = await BeginAsync(client, "orders-old");
        clock.Advance(10_000);
        await BeginAsync(client, "orders-new");
        await InitProducerIdTableTests.ReachIdleStateAsync(client, "payments", "CompleteCommit");
        await InitOkAsync(client, "empty");

        var all = await ListAsync(client, 2);
        Assert.Equal(ErrorCode.None, (ErrorCode)all.ErrorCode);
        Assert.Equal(["empty", "orders-new", "orders-old", "payments"], Ids(all));
        Assert.Equal("CompleteCommit", Assert.Single(all.TransactionStates, s => s.TransactionalId == "payments").TransactionState);

        var ongoing = await ListAsync(client, 0, states: ["Ongoing", "Bogus"]);
        Assert.Equal(["orders-new", "orders-old"], Ids(ongoing));
        Assert.Equal(["Bogus"], ongoing.UnknownStateFilters);

        Assert.Equal(["orders-old"], Ids(await ListAsync(client, 0, producerIds: [oldPid])));

        // DurationFilter (v1+): running for more than 5 s → only the older one; more than 20 s → none.
        Assert.Equal(["orders-old"], Ids(await ListAsync(client, 1, states: ["Ongoing"], duration: 5_000)));
        Assert.Empty(Ids(await ListAsync(client, 1, states: ["Ongoing"], duration: 20_000)));

        // TransactionalIdPattern must match the whole id (Java Matcher.matches); v2+ only.
        Assert.Equal(["orders-new", "orders-old"], Ids(await ListAsync(client, 2, pattern: "orders-.*")));
        Assert.Empty(Ids(await ListAsync(client, 2, pattern: "orders")));
        Assert.Equal(["empty", "payments"], Ids(await ListAsync(client, 2, pattern: "(empty|pay.*)")));
        Assert.Equal(4, Ids(await ListAsync(client, 2, pattern: "")).Length);

        var bad = await ListAsync(client, 2, pattern: "orders-[");
        Assert.Equal(ErrorCode.InvalidRegularExpression, (ErrorCode)bad.ErrorCode);
        Assert.Empty(bad.TransactionStates);
    }

    [Fact]
    public async Task Describe_transactions_reports_every_field()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(time: clock);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await CreateTopicAsync(client, "u");
        var start = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var (pid, epoch) = await BeginAsync(client, "tx", enable2Pc: true);
        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", pid, epoch, "u"));

        var response = await client.SendAsync<DescribeTransactionsRequest, DescribeTransactionsResponse>(
            new DescribeTransactionsRequest { TransactionalIds = ["tx", "missing", ""] }, 0);
        var tx = response.TransactionStates[0];
        Assert.Equal((ErrorCode.None, "tx", "Ongoing"), ((ErrorCode)tx.ErrorCode, tx.TransactionalId, tx.TransactionState));
        Assert.Equal(int.MaxValue, tx.TransactionTimeoutMs);
        Assert.Equal(start, tx.TransactionStartTimeMs);
        Assert.Equal((pid, epoch), (tx.ProducerId, tx.ProducerEpoch));
        Assert.Equal(["t", "u"], tx.Topics.Select(t => t.Topic));
        Assert.All(tx.Topics, t => Assert.Equal([0], t.Partitions));
        Assert.Equal(ErrorCode.TransactionalIdNotFound, (ErrorCode)response.TransactionStates[1].ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, (ErrorCode)response.TransactionStates[2].ErrorCode);

        await EndAsync(client, "tx", pid, epoch, commit: true);
        var done = await DescribeAsync(client, "tx");
        Assert.Equal("CompleteCommit", done.TransactionState);
        Assert.Empty(done.Topics);
    }

    [Fact]
    public async Task Metrics_count_open_transactions_and_the_oldest_ages()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(time: clock);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var coordinator = CoordinatorOf(harness);
        Assert.Equal((0, 0L, 0L), coordinator.ObserveOpen());

        await BeginAsync(client, "twopc", enable2Pc: true);
        clock.Advance(3_000);
        var (pid, epoch) = await BeginAsync(client, "plain");
        clock.Advance(1_000);
        Assert.Equal((2, 4_000L, 4_000L), coordinator.ObserveOpen());

        await EndAsync(client, "plain", pid, epoch, commit: true);
        Assert.Equal((1, 4_000L, 4_000L), coordinator.ObserveOpen());
    }

    [Fact]
    public async Task Add_partitions_for_an_unknown_partition_fails_the_whole_request()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var init = await InitOkAsync(client, "tx");
        var response = await client.SendAsync<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = "tx",
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics =
            [
                new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "t", Partitions = [0] },
                new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "t", Partitions = [7] },
            ],
        }, AddVersion);
        var errors = response.ResultsByTopicV3AndBelow.SelectMany(t => t.ResultsByPartition)
            .ToDictionary(p => p.PartitionIndex, p => (ErrorCode)p.PartitionErrorCode);
        Assert.Equal(ErrorCode.OperationNotAttempted, errors[0]);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, errors[7]);
        Assert.Equal("Empty", (await DescribeAsync(client, "tx")).TransactionState);
    }

    [Theory]
    [InlineData((short)4, ErrorCode.InvalidTxnState)]
    [InlineData((short)5, ErrorCode.TransactionAbortable)]
    public async Task Add_partitions_v4_plus_batches_verify_only_and_add(short version, ErrorCode notInTransaction)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var a = await InitOkAsync(client, "a");
        var b = await InitOkAsync(client, "b");

        AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction Txn(string id, InitProducerIdResponse init, bool verifyOnly) => new()
        {
            TransactionalId = id,
            ProducerId = init.ProducerId,
            ProducerEpoch = init.ProducerEpoch,
            VerifyOnly = verifyOnly,
            Topics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "t", Partitions = [0] }],
        };

        async Task<ErrorCode[]> SendAsync(params AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction[] txns)
        {
            var response = await client.SendAsync<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(
                new AddPartitionsToTxnRequest { Transactions = [.. txns] }, version);
            Assert.Equal(ErrorCode.None, (ErrorCode)response.ErrorCode);
            return [.. response.ResultsByTransaction.Select(r => (ErrorCode)Assert.Single(Assert.Single(r.TopicResults).ResultsByPartition).PartitionErrorCode)];
        }

        Assert.Equal([notInTransaction, ErrorCode.None], await SendAsync(Txn("a", a, verifyOnly: true), Txn("b", b, verifyOnly: false)));
        Assert.Equal([ErrorCode.None], await SendAsync(Txn("b", b, verifyOnly: true)));
        Assert.Equal("Ongoing", (await DescribeAsync(client, "b")).TransactionState);
        Assert.Equal("Empty", (await DescribeAsync(client, "a")).TransactionState);
    }
}
