using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Partition.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Partition;

/// <summary>
/// Goal: the produce-side rules for transactional batches (kip939-spec.md §8.2-8.4): KIP-890 verification and the
/// per-version translation of coordinator errors, the transactional guard, marker epoch rules for TV0/1 and TV2
/// (including KAFKA-19999), coordinator-epoch fencing, persistence across a restart, and DescribeProducers.
/// Method: harness broker with a <see cref="FakeVerifier"/>; markers through <c>Partition.WriteTxnMarkerAsync</c>.
/// </summary>
public sealed class ProducerStateTransactionTests
{
    private const long Pid = 77;

    [Fact]
    public async Task Without_a_coordinator_a_transactional_batch_is_INVALID_TXN_STATE()
    {
        await using var harness = await StartAsync(null);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        Assert.Equal((short)ErrorCode.InvalidTxnState, (await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0))).ErrorCode);
        Assert.Equal(0, PartitionOf(harness, "t").Log.LogEndOffset);
    }

    [Fact]
    public async Task Transactional_batch_without_transactional_id_is_TRANSACTIONAL_ID_AUTHORIZATION_FAILED()
    {
        var verifier = new FakeVerifier();
        await using var harness = await StartAsync(verifier);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var response = await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0), transactionalId: null);
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, response.ErrorCode);
        Assert.Empty(verifier.Calls);
    }

    [Theory]
    [InlineData(ErrorCode.InvalidTxnState, 10, ErrorCode.InvalidTxnState)]
    [InlineData(ErrorCode.NotCoordinator, 11, ErrorCode.NotEnoughReplicas)]
    [InlineData(ErrorCode.CoordinatorLoadInProgress, 12, ErrorCode.NotEnoughReplicas)]
    [InlineData(ErrorCode.ConcurrentTransactions, 11, ErrorCode.NotEnoughReplicas)]
    [InlineData(ErrorCode.ConcurrentTransactions, 12, ErrorCode.ConcurrentTransactions)]
    [InlineData(ErrorCode.ProducerFenced, 9, ErrorCode.InvalidProducerEpoch)]
    [InlineData(ErrorCode.TransactionAbortable, 10, ErrorCode.InvalidTxnState)]
    [InlineData(ErrorCode.TransactionAbortable, 11, ErrorCode.TransactionAbortable)]
    public async Task Coordinator_errors_are_translated_per_produce_version(ErrorCode coordinator, short version, ErrorCode expected)
    {
        var verifier = new FakeVerifier { Error = coordinator };
        await using var harness = await StartAsync(verifier);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var response = await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0), version: version);
        Assert.Equal((short)expected, response.ErrorCode);
        Assert.Equal(version >= 12, Assert.Single(verifier.Calls).Add); // v12 = TV2 implicit add
        Assert.Equal(0, PartitionOf(harness, "t").Log.LogEndOffset);
    }

    [Fact]
    public async Task A_completed_transaction_needs_a_new_verification_so_a_stale_one_cannot_append()
    {
        // The ABA case of §8.3: after the marker, the producer's next batch is not covered by the old verification.
        var verifier = new FakeVerifier();
        await using var harness = await StartAsync(verifier);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0));
        Assert.Equal(ErrorCode.None, await PartitionOf(harness, "t").WriteTxnMarkerAsync(Pid, 0, false, 0, 1, CancellationToken.None));

        verifier.Error = ErrorCode.InvalidTxnState; // the coordinator no longer has this partition in a transaction
        Assert.Equal((short)ErrorCode.InvalidTxnState, (await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 1))).ErrorCode);
        Assert.Equal(2, verifier.Calls.Count);
        Assert.Equal(2, PartitionOf(harness, "t").Log.LogEndOffset);
    }

    [Fact]
    public async Task Non_transactional_batch_during_an_open_transaction_is_INVALID_TXN_STATE()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0));
        var response = await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 1, transactional: false));
        Assert.Equal((short)ErrorCode.InvalidTxnState, response.ErrorCode);

        // An older epoch is fenced before anything else.
        await ProduceTxnAsync(client, "t", TxnBatch("b", 1, Pid + 1, 3, 0));
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, (await ProduceTxnAsync(client, "t", TxnBatch("b", 1, Pid + 1, 2, 0))).ErrorCode);
    }

    [Fact]
    public async Task Duplicate_of_a_transactional_batch_returns_the_original_offset()
    {
        var verifier = new FakeVerifier();
        await using var harness = await StartAsync(verifier);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var batch = TxnBatch("a", 2, Pid, 0, 0);
        Assert.Equal(0, (await ProduceTxnAsync(client, "t", batch)).BaseOffset);
        var retry = await ProduceTxnAsync(client, "t", batch);
        Assert.Equal((short)ErrorCode.None, retry.ErrorCode);
        Assert.Equal(0, retry.BaseOffset);
        Assert.Equal(2, PartitionOf(harness, "t").Log.LogEndOffset);
    }

    [Fact]
    public async Task Tv2_produce_v12_from_an_unknown_producer_must_start_at_sequence_0()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, (await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 5), version: 12)).ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0), version: 12)).ErrorCode);
    }

    [Fact]
    public async Task Marker_epoch_rules_differ_between_TV1_and_TV2()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var partition = PartitionOf(harness, "t");
        var ct = CancellationToken.None;

        // TV1: the marker carries the producer's epoch (≥ current is fine); older is INVALID_PRODUCER_EPOCH.
        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 3, 0));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, await partition.WriteTxnMarkerAsync(Pid, 2, true, 0, 1, ct));
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 3, true, 0, 1, ct));
        Assert.Equal((short)3, partition.ProducerState(Pid)!.Value.Epoch);
        Assert.Equal(0, partition.ProducerState(Pid)!.Value.LastSequence); // TV0/1 keep the batch cache

        // TV2: the marker epoch must be above the transaction's (the coordinator bumps it at completion).
        await ProduceTxnAsync(client, "t", TxnBatch("b", 1, Pid, 3, 1), version: 12);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, await partition.WriteTxnMarkerAsync(Pid, 3, true, 0, 2, ct));
        Assert.True(partition.Log.LastStableOffset < partition.Log.HighWatermark, "the TV2 transaction is still open");
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 4, true, 0, 2, ct));
        Assert.Equal(((short)4, -1), partition.ProducerState(Pid)!.Value); // epoch changed: cache cleared

        // KAFKA-19999: the same TV2 marker again (no open transaction) is an idempotent retry, accepted.
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 4, true, 0, 2, ct));
        Assert.Equal(partition.Log.HighWatermark, partition.Log.LastStableOffset);
    }

    [Fact]
    public async Task Marker_from_an_older_coordinator_epoch_is_fenced()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var partition = PartitionOf(harness, "t");
        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 0));
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, false, 5, 1, CancellationToken.None));
        await ProduceTxnAsync(client, "t", TxnBatch("a", 1, Pid, 0, 1));
        var end = partition.Log.LogEndOffset;
        Assert.Equal(ErrorCode.TransactionCoordinatorFenced, await partition.WriteTxnMarkerAsync(Pid, 0, true, 4, 1, CancellationToken.None));
        Assert.Equal(end, partition.Log.LogEndOffset); // nothing written
        Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, true, 5, 1, CancellationToken.None));
    }

    [Fact]
    public async Task Restart_keeps_an_open_transaction_pinning_the_LSO_and_the_aborted_index()
    {
        var verifier = new FakeVerifier();
        await using var harness = await StartAsync(verifier);
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            var partition = PartitionOf(harness, "t");
            await ProduceTxnAsync(client, "t", TxnBatch("x", 2, Pid, 0, 0));                 // 0-1 aborted
            Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, false, 7, 1, CancellationToken.None)); // 2
            await ProduceTxnAsync(client, "t", TxnBatch("y", 2, Pid, 0, 2));                 // 3-4 open
        }

        await harness.RestartAsync();
        harness.Broker.Core.TransactionVerifier = verifier;
        await using var after = await harness.ConnectAsync();
        var data = await FetchTxnAsync(after, "t", 0);
        Assert.Equal(3, data.LastStableOffset);
        Assert.Equal((Pid, 0L), (Assert.Single(data.AbortedTransactions!).ProducerId, data.AbortedTransactions![0].FirstOffset));
        Assert.Empty(ConsumeCommitted(data, 0));

        // The open transaction continues without a new verification and commits.
        var calls = verifier.Calls.Count;
        Assert.Equal((short)ErrorCode.None, (await ProduceTxnAsync(after, "t", TxnBatch("y", 1, Pid, 0, 4))).ErrorCode);
        Assert.Equal(calls, verifier.Calls.Count);
        var partition2 = PartitionOf(harness, "t");
        Assert.Equal(ErrorCode.None, await partition2.WriteTxnMarkerAsync(Pid, 0, true, 7, 1, CancellationToken.None));
        Assert.Equal(["y-0", "y-1", "y-0"], ConsumeCommitted(await FetchTxnAsync(after, "t", 0), 0));
    }

    [Fact]
    public async Task Without_snapshots_replaying_the_log_rebuilds_open_and_completed_transactions()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        string directory;
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            var partition = PartitionOf(harness, "t");
            directory = partition.Log.Directory;
            await ProduceTxnAsync(client, "t", TxnBatch("a", 1, 1, 0, 0), "ta");            // 0 A (aborted)
            await ProduceTxnAsync(client, "t", TxnBatch("b", 1, 2, 0, 0), "tb");            // 1 B (stays open)
            Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(1, 0, false, 4, 1, CancellationToken.None)); // 2
        }

        await harness.Broker.DisposeAsync();
        foreach (var file in harness.FileSystem.ListFiles(directory).Where(f => f.EndsWith(".snapshot", StringComparison.Ordinal)))
        {
            harness.FileSystem.DeleteFile(file);
        }

        await harness.RestartAsync();
        var reopened = PartitionOf(harness, "t");
        Assert.Equal(1, reopened.Log.LastStableOffset);
        Assert.Equal([(1L, 2L)], reopened.OngoingTransactions());
        var a = reopened.ActiveProducers().Single(p => p.ProducerId == 1);
        Assert.Equal((4, -1L), (a.CoordinatorEpoch, a.CurrentTxnStartOffset));
        var entry = Assert.Single(reopened.AbortedTransactions(0, long.MaxValue));
        Assert.Equal((1L, 0L, 2L, 1L), (entry.ProducerId, entry.FirstOffset, entry.LastOffset, entry.LastStableOffset));
    }

    [Fact]
    public async Task A_completed_transaction_pins_the_LSO_until_its_marker_is_durable()
    {
        // §8.5 "completed but not yet replicated": on one node, replicated = fsynced.
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var partition = PartitionOf(harness, "t");
        await ProduceTxnAsync(client, "t", TxnBatch("a", 2, Pid, 0, 0));

        var fs = (Lockstep.Storage.InMemoryFileSystem)harness.FileSystem;
        fs.PauseFlushes();
        ValueTask<ErrorCode> write;
        try
        {
            write = partition.WriteTxnMarkerAsync(Pid, 0, true, 0, 1, CancellationToken.None);
            Assert.False(write.IsCompleted, "the marker is acknowledged only once durable");
            Assert.Empty(partition.OngoingTransactions());
            Assert.Equal(0, partition.Log.LastStableOffset);
        }
        finally
        {
            fs.ResumeFlushes();
        }

        Assert.Equal(ErrorCode.None, await write);
        Assert.Equal(3, partition.Log.HighWatermark);
        Assert.Equal(3, partition.Log.LastStableOffset);
    }

    [Fact]
    public async Task A_missing_txnindex_file_is_rebuilt_from_the_log_on_open()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        string indexPath;
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            var partition = PartitionOf(harness, "t");
            await ProduceTxnAsync(client, "t", TxnBatch("x", 2, Pid, 0, 0));
            Assert.Equal(ErrorCode.None, await partition.WriteTxnMarkerAsync(Pid, 0, false, 0, 1, CancellationToken.None));
            indexPath = System.IO.Path.Combine(partition.Log.Directory, "00000000000000000000.txnindex");
            Assert.True(harness.FileSystem.FileExists(indexPath));
        }

        await harness.Broker.DisposeAsync();
        harness.FileSystem.DeleteFile(indexPath);
        await harness.RestartAsync();
        Assert.True(harness.FileSystem.FileExists(indexPath));
        await using var after = await harness.ConnectAsync();
        var data = await FetchTxnAsync(after, "t", 0);
        Assert.Equal((Pid, 0L), (Assert.Single(data.AbortedTransactions!).ProducerId, data.AbortedTransactions![0].FirstOffset));
    }

    [Fact]
    public async Task DescribeProducers_reports_each_producer_and_its_open_transaction()
    {
        await using var harness = await StartAsync(new FakeVerifier());
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceTxnAsync(client, "t", Batch(2, producerId: 5, epoch: 1, sequence: 0, timestamp: Now), transactionalId: null); // 0-1 idempotent
        await ProduceTxnAsync(client, "t", TxnBatch("a", 3, 9, 2, 0));                                                // 2-4 open txn
        await ProduceTxnAsync(client, "t", TxnBatch("b", 1, 11, 0, 0));                                               // 5
        Assert.Equal(ErrorCode.None, await PartitionOf(harness, "t").WriteTxnMarkerAsync(11, 0, true, 3, 1, CancellationToken.None));

        var response = await client.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(new DescribeProducersRequest
        {
            Topics =
            [
                new DescribeProducersRequest.TopicRequest { Name = "t", PartitionIndexes = [0, 9] },
                new DescribeProducersRequest.TopicRequest { Name = "missing", PartitionIndexes = [0] },
            ],
        }, 0);

        var partitions = response.Topics[0].Partitions;
        Assert.Equal((short)ErrorCode.None, partitions[0].ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, partitions[1].ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(response.Topics[1].Partitions).ErrorCode);
        var producers = partitions[0].ActiveProducers.Select(p => (p.ProducerId, p.ProducerEpoch, p.LastSequence, p.CoordinatorEpoch, p.CurrentTxnStartOffset)).ToList();
        Assert.Equal(
        [
            (5L, 1, 1, -1, -1L),
            (9L, 2, 2, -1, 2L),
            (11L, 0, 0, 3, -1L),
        ], producers);
        Assert.All(partitions[0].ActiveProducers, p => Assert.True(p.LastTimestamp > 0));
    }
}
