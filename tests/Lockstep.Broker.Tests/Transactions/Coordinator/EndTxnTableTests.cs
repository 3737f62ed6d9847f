using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>The EndTxn tables of kip939-spec.md §7.6: TV0/1 (v0-4) and TV2 (v5), every cell.</summary>
public sealed class EndTxnTableTests
{
    // ---- TV0/1 (EndTxn v4) -------------------------------------------------------------------------------------

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Tv1_ongoing_moves_to_complete_with_markers_before_the_response(bool commit)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");

        var end = await EndAsync(client, "tx", pid, epoch, commit);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.Equal((-1L, (short)-1), (end.ProducerId, end.ProducerEpoch));
        var marker = Assert.Single(markers.Written);
        Assert.Equal((pid, epoch, commit), (marker.ProducerId, marker.Epoch, marker.Commit)); // TV1: epoch unchanged
        Assert.Equal(CoordinatorOf(harness).CoordinatorEpoch, marker.CoordinatorEpoch);
        var described = await DescribeAsync(client, "tx");
        Assert.Equal(commit ? "CompleteCommit" : "CompleteAbort", described.TransactionState);
        Assert.Empty(described.Topics);

        // The same producer starts the next transaction at once: no CONCURRENT_TRANSACTIONS.
        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", pid, epoch));
    }

    [Theory]
    [InlineData("CompleteCommit", true, ErrorCode.None)]
    [InlineData("CompleteCommit", false, ErrorCode.InvalidTxnState)]
    [InlineData("CompleteAbort", true, ErrorCode.InvalidTxnState)]
    [InlineData("CompleteAbort", false, ErrorCode.None)]
    [InlineData("Empty", true, ErrorCode.InvalidTxnState)]
    [InlineData("Empty", false, ErrorCode.InvalidTxnState)]
    public async Task Tv1_idle_states(string state, bool commit, ErrorCode expected)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await InitProducerIdTableTests.ReachIdleStateAsync(client, "tx", state);
        var end = await EndAsync(client, "tx", pid, epoch, commit);
        Assert.Equal(expected, (ErrorCode)end.ErrorCode);
        Assert.Equal(state, (await DescribeAsync(client, "tx")).TransactionState);
    }

    [Theory]
    [InlineData(true, true, ErrorCode.ConcurrentTransactions)]
    [InlineData(true, false, ErrorCode.InvalidTxnState)]
    [InlineData(false, false, ErrorCode.ConcurrentTransactions)]
    [InlineData(false, true, ErrorCode.InvalidTxnState)]
    public async Task Tv1_prepare_states(bool prepareCommit, bool commit, ErrorCode expected)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await using var other = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");
        markers.Hold();
        var first = EndAsync(client, "tx", pid, epoch, prepareCommit);
        await markers.Blocked;

        Assert.Equal(expected, (ErrorCode)(await EndAsync(other, "tx", pid, epoch, commit)).ErrorCode);
        markers.Release();
        Assert.Equal(ErrorCode.None, (ErrorCode)(await first).ErrorCode);
    }

    [Theory]
    [InlineData((short)0, ErrorCode.InvalidProducerEpoch)]
    [InlineData((short)1, ErrorCode.InvalidProducerEpoch)]
    [InlineData((short)2, ErrorCode.ProducerFenced)]
    [InlineData((short)4, ErrorCode.ProducerFenced)]
    [InlineData((short)5, ErrorCode.ProducerFenced)]
    public async Task Wrong_epoch_is_fenced_per_version_and_wrong_id_is_invalid_mapping(short version, ErrorCode fenced)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");
        Assert.Equal(fenced, (ErrorCode)(await EndAsync(client, "tx", pid, (short)(epoch + 3), true, version)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, (ErrorCode)(await EndAsync(client, "tx", pid + 1, epoch, true, version)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, (ErrorCode)(await EndAsync(client, "unknown", pid, epoch, true, version)).ErrorCode);
        Assert.Equal("Ongoing", (await DescribeAsync(client, "tx")).TransactionState);
    }

    // ---- TV2 (EndTxn v5) ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Tv2_ongoing_bumps_the_epoch_and_returns_it_and_a_retry_gets_the_same(bool commit)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");

        var end = await EndAsync(client, "tx", pid, epoch, commit, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.Equal((pid, (short)(epoch + 1)), (end.ProducerId, end.ProducerEpoch));
        var marker = Assert.Single(markers.Written);
        Assert.Equal((pid, (short)(epoch + 1), commit, (short)2), (marker.ProducerId, marker.Epoch, marker.Commit, marker.TransactionVersion));

        var retry = await EndAsync(client, "tx", pid, epoch, commit, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)retry.ErrorCode);
        Assert.Equal((pid, (short)(epoch + 1)), (retry.ProducerId, retry.ProducerEpoch));
        Assert.Single(markers.Written);

        // The opposite outcome as a retry is INVALID_TXN_STATE.
        Assert.Equal(ErrorCode.InvalidTxnState, (ErrorCode)(await EndAsync(client, "tx", pid, epoch, !commit, Tv2EndVersion)).ErrorCode);
    }

    [Fact]
    public async Task Tv2_ongoing_with_an_older_epoch_is_fenced()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await InitProducerIdTableTests.ReachIdleStateAsync(client, "tx", "CompleteCommit");
        var end = await EndAsync(client, "tx", pid, epoch, commit: true, Tv2EndVersion);
        Assert.Equal(ErrorCode.InvalidTxnState, (ErrorCode)end.ErrorCode); // TV1-completed: current epoch, commit again
        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", pid, epoch));
        foreach (var commit in new[] { true, false })
        {
            var stale = await EndAsync(client, "tx", pid, (short)(epoch - 1), commit, Tv2EndVersion);
            Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)stale.ErrorCode);
        }
    }

    [Fact]
    public async Task Tv2_empty_commit_is_invalid_and_abort_of_nothing_bumps()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        var init = await InitOkAsync(client, "tx");
        Assert.Equal(ErrorCode.InvalidTxnState,
            (ErrorCode)(await EndAsync(client, "tx", init.ProducerId, init.ProducerEpoch, true, Tv2EndVersion)).ErrorCode);
        var abort = await EndAsync(client, "tx", init.ProducerId, init.ProducerEpoch, false, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)abort.ErrorCode);
        Assert.Equal(init.ProducerEpoch + 1, abort.ProducerEpoch);
        Assert.Empty(markers.Written);
        Assert.Equal("CompleteAbort", (await DescribeAsync(client, "tx")).TransactionState);

        // Retry epoch in Empty is fenced: reach Empty again with a bump, then present the previous epoch.
        var again = await InitOkAsync(client, "tx");
        var stale = await EndAsync(client, "tx", again.ProducerId, (short)(again.ProducerEpoch - 1), false, Tv2EndVersion);
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)stale.ErrorCode);
    }

    [Theory]
    [InlineData("CompleteCommit", true, ErrorCode.InvalidTxnState)]
    [InlineData("CompleteCommit", false, ErrorCode.None)]
    [InlineData("CompleteAbort", true, ErrorCode.InvalidTxnState)]
    [InlineData("CompleteAbort", false, ErrorCode.None)]
    public async Task Tv2_complete_states_with_current_epoch(string state, bool commit, ErrorCode expected)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");
        var done = await EndAsync(client, "tx", pid, epoch, state == "CompleteCommit", Tv2EndVersion);
        var current = done.ProducerEpoch;

        var end = await EndAsync(client, "tx", pid, current, commit, Tv2EndVersion);
        Assert.Equal(expected, (ErrorCode)end.ErrorCode);
        if (expected == ErrorCode.None)
        {
            // An abort with the current epoch aborts an (empty) new transaction: another bump.
            Assert.Equal(current + 1, end.ProducerEpoch);
            Assert.Equal("CompleteAbort", (await DescribeAsync(client, "tx")).TransactionState);
        }
    }

    [Theory]
    [InlineData(true, true, false, ErrorCode.ProducerFenced)]       // PrepareCommit, COMMIT, current epoch
    [InlineData(true, true, true, ErrorCode.ConcurrentTransactions)] // PrepareCommit, COMMIT, retry epoch
    [InlineData(true, false, false, ErrorCode.ProducerFenced)]      // PrepareCommit, ABORT, current
    [InlineData(true, false, true, ErrorCode.InvalidTxnState)]      // PrepareCommit, ABORT, retry
    [InlineData(false, true, false, ErrorCode.ProducerFenced)]      // PrepareAbort, COMMIT, current
    [InlineData(false, true, true, ErrorCode.InvalidTxnState)]      // PrepareAbort, COMMIT, retry
    [InlineData(false, false, false, ErrorCode.ProducerFenced)]     // PrepareAbort, ABORT, current
    [InlineData(false, false, true, ErrorCode.ConcurrentTransactions)] // PrepareAbort, ABORT, retry
    public async Task Tv2_prepare_states(bool prepareCommit, bool commit, bool retryEpoch, ErrorCode expected)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await using var other = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");
        markers.Hold();
        var first = EndAsync(client, "tx", pid, epoch, prepareCommit, Tv2EndVersion);
        await markers.Blocked;

        // In Prepare* the stored epoch is already epoch + 1: "retry" is the client's epoch, "current" the bumped one.
        var presented = retryEpoch ? epoch : (short)(epoch + 1);
        Assert.Equal(expected, (ErrorCode)(await EndAsync(other, "tx", pid, presented, commit, Tv2EndVersion)).ErrorCode);
        markers.Release();
        Assert.Equal(ErrorCode.None, (ErrorCode)(await first).ErrorCode);
    }

    [Fact]
    public async Task Tv2_epoch_overflow_moves_to_a_new_producer_id_and_the_old_id_can_retry()
    {
        const long seededPid = 900_000;
        var fs = await SeedAsync(("tx", new TxnSnapshot
        {
            ProducerId = seededPid,
            ProducerEpoch = short.MaxValue - 1,
            TimeoutMs = TimeoutMs,
            State = TransactionState.Ongoing,
            Partitions = [new Lockstep.Storage.TopicPartition("t", 0)],
            StartMs = 1_700_000_000_000,
            LastUpdateMs = 1_700_000_000_000,
            ClientTransactionVersion = 2,
        }));
        await using var harness = await BrokerHarness.StartAsync(fileSystem: fs);
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var end = await EndAsync(client, "tx", seededPid, short.MaxValue - 1, commit: true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.NotEqual(seededPid, end.ProducerId);
        Assert.Equal(0, end.ProducerEpoch);
        var marker = Assert.Single(markers.Written);
        Assert.Equal((seededPid, short.MaxValue), (marker.ProducerId, marker.Epoch));

        var retry = await EndAsync(client, "tx", seededPid, short.MaxValue - 1, commit: true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)retry.ErrorCode);
        Assert.Equal((end.ProducerId, (short)0), (retry.ProducerId, retry.ProducerEpoch));

        // The new id works for the next transaction.
        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", end.ProducerId, 0));
    }
}
