using Lockstep.Broker.Tests.Groups;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>The abort reaper, transactional-id expiration, and recovery of every state after a restart or crash.</summary>
public sealed class TimeoutAndRecoveryTests
{
    private static Dictionary<string, string> Settings() => new()
    {
        ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "1000",
        ["transaction.remove.expired.transaction.cleanup.interval.ms"] = "1000",
        ["transactional.id.expiration.ms"] = "60000",
    };

    [Fact]
    public async Task Reaper_aborts_a_timed_out_transaction_with_an_epoch_fence_but_never_a_2pc_one()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Settings(), time: clock);
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "short", timeoutMs: 5_000);
        var (twoPcPid, _) = await BeginAsync(client, "prepared", enable2Pc: true);

        clock.Advance(4_000);
        Assert.Equal("Ongoing", (await DescribeAsync(client, "short")).TransactionState);
        clock.Advance(2_500);
        await WaitForStateAsync(client, "short", "CompleteAbort");
        var abort = Assert.Single(markers.Written);
        Assert.Equal((pid, (short)(epoch + 1), false), (abort.ProducerId, abort.Epoch, abort.Commit));
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)(await EndAsync(client, "short", pid, epoch, true)).ErrorCode);

        clock.Advance(24L * 3600 * 1000); // a day: still never reaped, never expired
        var prepared = await DescribeAsync(client, "prepared");
        Assert.Equal("Ongoing", prepared.TransactionState);
        Assert.Equal(int.MaxValue, prepared.TransactionTimeoutMs);
        Assert.DoesNotContain(markers.Written, m => m.ProducerId == twoPcPid);
    }

    [Fact]
    public async Task Idle_transactional_ids_expire_with_a_tombstone_and_stay_gone_after_restart()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Settings(), time: clock);
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            await InitProducerIdTableTests.ReachIdleStateAsync(client, "idle", "CompleteCommit");
            await BeginAsync(client, "open");
            clock.Advance(30_000);
            Assert.Equal("CompleteCommit", (await DescribeAsync(client, "idle")).TransactionState);
            clock.Advance(31_000);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while ((await DescribeAsync(client, "idle")).ErrorCode != (short)ErrorCode.TransactionalIdNotFound && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5, TestContext.Current.CancellationToken);
            }

            Assert.Equal(ErrorCode.TransactionalIdNotFound, (ErrorCode)(await DescribeAsync(client, "idle")).ErrorCode);
        }

        await harness.RestartAsync(Settings());
        await using var after = await harness.ConnectAsync();
        Assert.Equal(ErrorCode.TransactionalIdNotFound, (ErrorCode)(await DescribeAsync(after, "idle")).ErrorCode);
        // The open one was timed out by the reaper meanwhile (60 s timeout) but never expired while ongoing.
        Assert.Equal(ErrorCode.None, (ErrorCode)(await DescribeAsync(after, "open")).ErrorCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_restart_every_state_resumes(bool crash)
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Settings(), time: clock);
        var markers = RecordMarkers(harness);
        long twoPcPid;
        short twoPcEpoch;
        await using (var client = await harness.ConnectAsync())
        await using (var committer = await harness.ConnectAsync())
        await using (var aborter = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            await BeginAsync(client, "ongoing", timeoutMs: 20_000);
            (twoPcPid, twoPcEpoch) = await BeginAsync(client, "prepared", enable2Pc: true);
            var (commitPid, commitEpoch) = await BeginAsync(client, "committing");
            var (abortPid, abortEpoch) = await BeginAsync(client, "aborting");

            // Hold markers so both transactions are stuck in Prepare* (durable) when the broker dies.
            markers.Hold();
            var commit = EndAsync(committer, "committing", commitPid, commitEpoch, true);
            await markers.Blocked;
            markers.Hold();
            var abort = EndAsync(aborter, "aborting", abortPid, abortEpoch, false);
            await markers.Blocked;
            Assert.Equal("PrepareCommit", (await DescribeAsync(client, "committing")).TransactionState);
            Assert.Equal("PrepareAbort", (await DescribeAsync(client, "aborting")).TransactionState);

            if (crash)
            {
                await harness.CrashAndRestartAsync(Settings());
            }
            else
            {
                await harness.RestartAsync(Settings());
            }

            _ = commit.ContinueWith(t => t.Exception, TaskScheduler.Default); // the old connection died with the broker
            _ = abort.ContinueWith(t => t.Exception, TaskScheduler.Default);
        }

        await using var after = await harness.ConnectAsync();
        await WaitForStateAsync(after, "committing", "CompleteCommit");
        await WaitForStateAsync(after, "aborting", "CompleteAbort");
        Assert.Equal("Ongoing", (await DescribeAsync(after, "ongoing")).TransactionState);

        // A prepared 2PC transaction is still open and completes through keepPreparedTxn + EndTxn.
        var prepared = await DescribeAsync(after, "prepared");
        Assert.Equal(("Ongoing", int.MaxValue), (prepared.TransactionState, prepared.TransactionTimeoutMs));
        var keep = await InitOkAsync(after, "prepared", TwoPcInitVersion, enable2Pc: true, keep: true);
        Assert.Equal((twoPcPid, twoPcEpoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));
        var end = await EndAsync(after, "prepared", keep.ProducerId, keep.ProducerEpoch, true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.Equal("CompleteCommit", (await DescribeAsync(after, "prepared")).TransactionState);

        // The ordinary ongoing one survives until its timeout, then the reaper aborts it.
        clock.Advance(25_000);
        await WaitForStateAsync(after, "ongoing", "CompleteAbort");
    }

    [Fact]
    public async Task Coordinator_epoch_grows_on_every_start()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var first = CoordinatorOf(harness).CoordinatorEpoch;
        await harness.RestartAsync();
        var second = CoordinatorOf(harness).CoordinatorEpoch;
        await harness.CrashAndRestartAsync();
        var third = CoordinatorOf(harness).CoordinatorEpoch;
        Assert.True(first < second && second < third, $"{first} < {second} < {third}");

        // The transaction log is internal: never listed as a topic, also after a restart.
        await using var client = await harness.ConnectAsync();
        await InitOkAsync(client, "tx");
        await harness.RestartAsync();
        await using var after = await harness.ConnectAsync();
        var metadata = await after.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        Assert.DoesNotContain(metadata.Topics, t => t.Name == "__transaction_state");
        Assert.Equal("Empty", (await DescribeAsync(after, "tx")).TransactionState);
    }

    [Fact]
    public async Task Find_coordinator_for_transactions_answers_this_node()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var v3 = await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "tx", KeyType = 1 }, 3);
        Assert.Equal((ErrorCode.None, harness.Broker.Config.NodeId), ((ErrorCode)v3.ErrorCode, v3.NodeId));
        var v4 = await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { CoordinatorKeys = ["a", "b"], KeyType = 1 }, 4);
        Assert.All(v4.Coordinators, c => Assert.Equal(ErrorCode.None, (ErrorCode)c.ErrorCode));
    }
}
