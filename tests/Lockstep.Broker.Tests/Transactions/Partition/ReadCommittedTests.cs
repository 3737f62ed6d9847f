using Lockstep.Protocol;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Partition.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Partition;

/// <summary>
/// Goal: the partition leader's side of transactions end to end through Produce/Fetch/ListOffsets (kip939-spec.md
/// §8.2-8.7): open transactions pin the LSO, commit markers release them, aborted transactions are listed and a
/// §8.7 consumer drops them. Method: a broker harness whose coordinator is replaced by <see cref="FakeVerifier"/>,
/// markers written through <c>Partition.WriteTxnMarkerAsync</c> as the coordinator would.
/// </summary>
public sealed class ReadCommittedTests
{
    private const long Pid = 1000;

    [Fact]
    public async Task Open_transaction_pins_the_LSO_and_a_commit_marker_releases_it()
    {
        var verifier = new FakeVerifier();
        await using var harness = await StartAsync(verifier);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceTxnAsync(client, "t", Batch(2, timestamp: Now), transactionalId: null); // offsets 0-1, plain data

        var first = await ProduceTxnAsync(client, "t", TxnBatch("a", 3, Pid, 0, 0));
        Assert.Equal((short)ErrorCode.None, first.ErrorCode);
        Assert.Equal(2, first.BaseOffset);
        var second = await ProduceTxnAsync(client, "t", TxnBatch("b", 2, Pid, 0, 3));
        Assert.Equal((short)ErrorCode.None, second.ErrorCode);

        // Verified once: the second batch joins the transaction the log already has open.
        var call = Assert.Single(verifier.Calls);
        Assert.Equal(("tx", Pid, (short)0, false), (call.TransactionalId, call.ProducerId, call.Epoch, call.Add));

        var pinned = await FetchTxnAsync(client, "t", 0);
        Assert.Equal(2, pinned.LastStableOffset);
        Assert.Equal(7, pinned.HighWatermark);
        Assert.Equal([0L], Batches(pinned.Records).Select(b => b.BaseOffset));
        Assert.Empty(pinned.AbortedTransactions!);
        Assert.Equal(2, await ListOffsetAsync(client, "t", -1, isolation: 1));
        Assert.Equal(7, await ListOffsetAsync(client, "t", -1, isolation: 0));

        // read_uncommitted sees everything, with no aborted list.
        var uncommitted = await FetchTxnAsync(client, "t", 0, isolation: 0);
        Assert.Null(uncommitted.AbortedTransactions);
        Assert.Equal(3, Batches(uncommitted.Records).Count);

        var partition = PartitionOf(harness, "t");
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, commit: true, coordinatorEpoch: 0, transactionVersion: 1, CancellationToken.None));

        var committed = await FetchTxnAsync(client, "t", 0);
        Assert.Equal(8, committed.LastStableOffset);
        Assert.Equal(8, committed.HighWatermark);
        Assert.Empty(committed.AbortedTransactions!);
        var batches = Batches(committed.Records);
        Assert.True(batches[^1].IsControl && batches[^1].IsTransactional && batches[^1].BaseOffset == 7,
            string.Join(" | ", batches.Select(b => $"{b.BaseOffset}-{b.LastOffset} ctl={b.IsControl} txn={b.IsTransactional} pid={b.ProducerId}")));
        Assert.Equal(["a-0", "a-1", "a-2", "b-0", "b-1"], ConsumeCommitted(committed, 2));
        Assert.Equal(8, await ListOffsetAsync(client, "t", -1, isolation: 1));
    }

    [Fact]
    public async Task Aborted_transaction_is_listed_and_the_consumer_algorithm_drops_it()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var partition = PartitionOf(harness, "t");

        await ProduceTxnAsync(client, "t", TxnBatch("x", 2, Pid, 0, 0));            // 0-1 aborted
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, false, 0, 1, CancellationToken.None)); // 2
        await ProduceTxnAsync(client, "t", TxnBatch("y", 2, Pid, 0, 2));            // 3-4 committed
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, true, 0, 1, CancellationToken.None));  // 5

        var data = await FetchTxnAsync(client, "t", 0);
        Assert.Equal(6, data.LastStableOffset);
        var aborted = Assert.Single(data.AbortedTransactions!);
        Assert.Equal((Pid, 0L), (aborted.ProducerId, aborted.FirstOffset));
        Assert.Equal(["y-0", "y-1"], ConsumeCommitted(data, 0));

        // A fetch starting after the abort does not report it (LastOffset < fetch offset).
        var later = await FetchTxnAsync(client, "t", 3);
        Assert.Empty(later.AbortedTransactions!);
        Assert.Equal(["y-0", "y-1"], ConsumeCommitted(later, 3));
    }

    [Fact]
    public async Task Interleaved_transactions_of_two_producers_keep_the_LSO_at_the_oldest_open_one()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var partition = PartitionOf(harness, "t");
        const long a = 1, b = 2;

        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, a, 0, 0), "ta"); // 0
        await ProduceTxnAsync(client, "t", TxnBatch("b", 1, b, 0, 0), "tb"); // 1
        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, a, 0, 1), "ta"); // 2
        Assert.Equal(0, (await FetchTxnAsync(client, "t", 0)).LastStableOffset);

        // A aborts while B is still open: the index entry records B's first offset as its LSO (§8.6).
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(a, 0, false, 0, 1, CancellationToken.None)); // 3
        var afterAbort = await FetchTxnAsync(client, "t", 0);
        Assert.Equal(1, afterAbort.LastStableOffset);
        Assert.Equal([0L], Batches(afterAbort.Records).Select(h => h.BaseOffset)); // stops at B's first batch
        var entry = Assert.Single(harness.Broker.Core.Topics.Topics.Single(t => t.Name == "t").Partitions[0].AbortedTransactions(0, long.MaxValue));
        Assert.Equal((a, 0L, 3L, 1L), (entry.ProducerId, entry.FirstOffset, entry.LastOffset, entry.LastStableOffset));
        Assert.Empty(ConsumeCommitted(afterAbort, 0));

        await ProduceTxnAsync(client, "t", TxnBatch("b", 1, b, 0, 1), "tb"); // 4
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(b, 0, true, 0, 1, CancellationToken.None)); // 5
        var all = await FetchTxnAsync(client, "t", 0);
        Assert.Equal(6, all.LastStableOffset);
        Assert.Equal(["b-0", "b-0"], ConsumeCommitted(all, 0));
        Assert.Equal((a, 0L), (Assert.Single(all.AbortedTransactions!).ProducerId, all.AbortedTransactions![0].FirstOffset));
    }

    [Fact]
    public async Task Read_committed_long_poll_at_the_LSO_wakes_when_the_marker_lands()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await using var consumer = await harness.ConnectAsync("consumer");
        await CreateTopicAsync(client, "t");
        await ProduceTxnAsync(client, "t", TxnBatch("a", 2, Pid, 0, 0));

        var poll = FetchTxnAsync(consumer, "t", 0, maxWaitMs: 30_000, minBytes: 1);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(poll.IsCompleted, "nothing is committed yet, so the fetch must wait");

        Assert.Equal(ErrorCode.None, await PartitionOf(harness, "t").WriteTxnMarkerAsync(Pid, 0, true, 0, 1, CancellationToken.None));
        var data = await poll.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(3, data.LastStableOffset);
        Assert.Equal(["a-0", "a-1"], ConsumeCommitted(data, 0));
    }

    [Fact]
    public async Task Lso_lag_gauge_reports_high_watermark_minus_LSO()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceTxnAsync(client, "t", TxnBatch("a", 4, Pid, 0, 0));

        var lags = new List<long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "lockstep.broker.lso_lag" && ReferenceEquals(instrument.Meter, harness.Broker.Metrics.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => lags.Add(value));
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.Equal([4L], lags);
    }
}
