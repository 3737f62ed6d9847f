using System.Text;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>
/// Coordinator and partitions together: transactional produce (v11 with AddPartitionsToTxn, v12 with the implicit
/// add), commit and abort markers, and what a read_committed Fetch sees.
/// </summary>
public sealed class EndToEndTests
{
    private const sbyte ReadCommitted = 1;

    private static byte[] TxnBatch(long producerId, short epoch, int sequence, int count, string text)
    {
        using var builder = new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = epoch,
            BaseSequence = sequence,
            IsTransactional = true,
        };
        for (var i = 0; i < count; i++)
        {
            builder.Append(1_000 + i, null, Encoding.ASCII.GetBytes($"{text}-{i}"));
        }

        return builder.ToArray();
    }

    private static async Task<ProduceResponse.PartitionProduceResponse> ProduceTxnAsync(
        RawKafkaClient client, string id, byte[] batch, short version)
    {
        var request = Produce("t", batch);
        request.TransactionalId = id;
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(request, version);
        return Assert.Single(Assert.Single(response.Responses).PartitionResponses);
    }

    private static async Task<FetchResponse.PartitionData> FetchCommittedAsync(RawKafkaClient client, long offset)
    {
        var request = Fetch("t", offset);
        request.IsolationLevel = ReadCommitted;
        return await FetchAsync(client, request);
    }

    private static List<RecordBatchHeader> DataBatches(FetchResponse.PartitionData data) =>
        Batches(data.Records).Where(b => !b.IsControl).ToList();

    [Fact]
    public async Task Tv1_produce_v11_commit_is_visible_to_read_committed_and_abort_is_not()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        var (pid, epoch) = await BeginOnTopicAsync(client, "tx");

        var produced = await ProduceTxnAsync(client, "tx", TxnBatch(pid, epoch, 0, 2, "a"), 11);
        Assert.Equal(ErrorCode.None, (ErrorCode)produced.ErrorCode);
        var open = await FetchCommittedAsync(client, 0);
        Assert.Equal(0, open.LastStableOffset);
        Assert.Empty(DataBatches(open));

        Assert.Equal(ErrorCode.None, (ErrorCode)(await EndAsync(client, "tx", pid, epoch, commit: true)).ErrorCode);
        Assert.True(Assert.Single(markers.Written).Commit);
        var committed = await FetchCommittedAsync(client, 0);
        Assert.Equal(3, committed.LastStableOffset); // 2 records + the COMMIT marker
        Assert.Equal(2, Assert.Single(DataBatches(committed)).RecordCount);

        // Second transaction, aborted: read_committed gets it with AbortedTransactions so the consumer drops it.
        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", pid, epoch));
        Assert.Equal(ErrorCode.None, (ErrorCode)(await ProduceTxnAsync(client, "tx", TxnBatch(pid, epoch, 2, 1, "b"), 11)).ErrorCode);
        Assert.Equal(ErrorCode.None, (ErrorCode)(await EndAsync(client, "tx", pid, epoch, commit: false)).ErrorCode);
        var afterAbort = await FetchCommittedAsync(client, 3);
        Assert.Equal(5, afterAbort.LastStableOffset);
        var aborted = Assert.Single(afterAbort.AbortedTransactions!);
        Assert.Equal((pid, 3L), (aborted.ProducerId, aborted.FirstOffset));
    }

    [Fact]
    public async Task Tv2_produce_v12_adds_the_partition_implicitly_and_end_txn_v5_bumps_per_transaction()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var init = await InitOkAsync(client, "tx");
        var (pid, epoch) = (init.ProducerId, init.ProducerEpoch);

        Assert.Equal(ErrorCode.None, (ErrorCode)(await ProduceTxnAsync(client, "tx", TxnBatch(pid, epoch, 0, 3, "a"), 12)).ErrorCode);
        var described = await DescribeAsync(client, "tx");
        Assert.Equal("Ongoing", described.TransactionState);
        Assert.Equal("t", Assert.Single(described.Topics).Topic);
        Assert.Empty(DataBatches(await FetchCommittedAsync(client, 0)));

        var end = await EndAsync(client, "tx", pid, epoch, commit: true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.Equal((pid, (short)(epoch + 1)), (end.ProducerId, end.ProducerEpoch));
        Assert.Equal(3, Assert.Single(DataBatches(await FetchCommittedAsync(client, 0))).RecordCount);

        // Next transaction with the new epoch (sequences restart at 0 with a new epoch), aborted.
        Assert.Equal(ErrorCode.None, (ErrorCode)(await ProduceTxnAsync(client, "tx", TxnBatch(pid, end.ProducerEpoch, 0, 1, "b"), 12)).ErrorCode);
        var abort = await EndAsync(client, "tx", pid, end.ProducerEpoch, commit: false, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)abort.ErrorCode);
        var data = await FetchCommittedAsync(client, 4); // 0-2 committed data, 3 COMMIT, 4 aborted data, 5 ABORT
        Assert.Equal(6, data.LastStableOffset);
        var aborted = Assert.Single(data.AbortedTransactions!);
        Assert.Equal((pid, 4L), (aborted.ProducerId, aborted.FirstOffset));

        // The zombie epoch can no longer produce into a transaction.
        var zombie = await ProduceTxnAsync(client, "tx", TxnBatch(pid, epoch, 3, 1, "z"), 12);
        Assert.NotEqual(ErrorCode.None, (ErrorCode)zombie.ErrorCode);
    }

    [Fact]
    public async Task Prepared_2pc_data_stays_invisible_across_a_crash_until_committed_through_keep()
    {
        await using var harness = await BrokerHarness.StartAsync();
        long pid;
        short epoch;
        await using (var client = await harness.ConnectAsync())
        {
            (pid, epoch) = await BeginOnTopicAsync(client, "tx", enable2Pc: true);
            Assert.Equal(ErrorCode.None, (ErrorCode)(await ProduceTxnAsync(client, "tx", TxnBatch(pid, epoch, 0, 2, "p"), 11)).ErrorCode);
        }

        await harness.CrashAndRestartAsync();
        await using var after = await harness.ConnectAsync();
        var before = await FetchCommittedAsync(after, 0);
        Assert.Equal(0, before.LastStableOffset);
        Assert.Empty(DataBatches(before));

        var keep = await InitOkAsync(after, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
        Assert.Equal((pid, epoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));
        Assert.Equal(ErrorCode.None, (ErrorCode)(await EndAsync(after, "tx", keep.ProducerId, keep.ProducerEpoch, true, Tv2EndVersion)).ErrorCode);
        var committed = await FetchCommittedAsync(after, 0);
        Assert.Equal(2, Assert.Single(DataBatches(committed)).RecordCount);
        Assert.Equal(3, committed.LastStableOffset);
    }

    private static async Task<(long, short)> BeginOnTopicAsync(RawKafkaClient client, string id, bool enable2Pc = false)
    {
        await CreateTopicAsync(client, "t");
        return await BeginAsync(client, id, enable2Pc: enable2Pc);
    }
}

/// <summary>
/// With <c>lockstep.durability=os</c> an append is "durable" at once, so every transition installs synchronously
/// inside the coordinator's decision (the re-entrant path); the whole life cycle must behave the same.
/// </summary>
public sealed class OsDurabilityTests
{
    [Fact]
    public async Task Full_cycle_with_immediate_durability()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["lockstep.durability"] = "os" });
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx", enable2Pc: true);
        var keep = await InitOkAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
        Assert.Equal((pid, epoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));
        var end = await EndAsync(client, "tx", pid, keep.ProducerEpoch, commit: true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.True(Assert.Single(markers.Written).Commit);

        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", end.ProducerId, end.ProducerEpoch));
        var fence = await InitAsync(client, "tx");
        Assert.Equal(ErrorCode.ConcurrentTransactions, (ErrorCode)fence.ErrorCode);
        Assert.Equal(2, markers.Written.Count);
        Assert.Equal(ErrorCode.None, (ErrorCode)(await InitAsync(client, "tx")).ErrorCode);
        Assert.Equal("Empty", (await DescribeAsync(client, "tx")).TransactionState);
    }
}
