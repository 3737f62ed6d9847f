using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>Zombie fencing, epoch exhaustion, and KIP-939 keepPreparedTxn (§7.11).</summary>
public sealed class FencingAndKeepTests
{
    [Theory]
    [InlineData((short)1, ErrorCode.InvalidProducerEpoch)]
    [InlineData((short)2, ErrorCode.ProducerFenced)]
    [InlineData((short)3, ErrorCode.ProducerFenced)]
    public async Task A_new_incarnation_fences_the_zombie_on_every_api(short oldVersion, ErrorCode fenced)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var zombie = await harness.ConnectAsync();
        await using var successor = await harness.ConnectAsync();
        await CreateTopicAsync(zombie, "t");
        var (pid, epoch) = await BeginAsync(zombie, "tx");

        var next = await InitOkAsync(successor, "tx");
        Assert.Equal(pid, next.ProducerId);
        Assert.True(next.ProducerEpoch > epoch);

        Assert.Equal(fenced, await AddAsync(zombie, "tx", pid, epoch, version: oldVersion));
        Assert.Equal(fenced, (ErrorCode)(await EndAsync(zombie, "tx", pid, epoch, true, oldVersion)).ErrorCode);
        var offsets = await zombie.SendAsync<Lockstep.Protocol.Messages.AddOffsetsToTxnRequest, Lockstep.Protocol.Messages.AddOffsetsToTxnResponse>(
            new() { TransactionalId = "tx", ProducerId = pid, ProducerEpoch = epoch, GroupId = "g" }, oldVersion);
        Assert.Equal(fenced, (ErrorCode)offsets.ErrorCode);

        // KIP-360 InitProducerId with the zombie's epoch: v3 gets INVALID_PRODUCER_EPOCH, v4+ PRODUCER_FENCED.
        var v3 = await InitAsync(zombie, "tx", 3, producerId: pid, epoch: (short)(epoch - 1 < 0 ? 100 : epoch - 1));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, (ErrorCode)v3.ErrorCode);
        var v4 = await InitAsync(zombie, "tx", 4, producerId: pid + 77, epoch: epoch);
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)v4.ErrorCode);
    }

    [Fact]
    public async Task Kip360_init_with_current_epoch_bumps_and_a_lost_response_retry_gets_the_same_epoch()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var init = await InitOkAsync(client, "tx");
        var bumped = await InitAsync(client, "tx", producerId: init.ProducerId, epoch: init.ProducerEpoch);
        Assert.Equal((init.ProducerId, (short)(init.ProducerEpoch + 1)), (bumped.ProducerId, bumped.ProducerEpoch));
        var retried = await InitAsync(client, "tx", producerId: init.ProducerId, epoch: init.ProducerEpoch);
        Assert.Equal((bumped.ProducerId, bumped.ProducerEpoch), (retried.ProducerId, retried.ProducerEpoch));
    }

    [Fact]
    public async Task Epoch_exhaustion_moves_to_a_new_producer_id()
    {
        const long seededPid = 900_000;
        var fs = await SeedAsync(
            ("plain", Idle(seededPid, short.MaxValue - 1)),
            ("kip360", Idle(seededPid + 1, short.MaxValue - 1)));
        await using var harness = await BrokerHarness.StartAsync(fileSystem: fs);
        await using var client = await harness.ConnectAsync();

        var plain = await InitOkAsync(client, "plain");
        Assert.NotEqual(seededPid, plain.ProducerId);
        Assert.Equal(0, plain.ProducerEpoch);

        var kip360 = await InitOkAsync(client, "kip360", producerId: seededPid + 1, epoch: short.MaxValue - 1);
        Assert.NotEqual(seededPid + 1, kip360.ProducerId);
        Assert.Equal(0, kip360.ProducerEpoch);

        // The old id with its exhausted epoch is still recognized (a retry after the rotation): not fenced.
        var again = await InitAsync(client, "kip360", producerId: seededPid + 1, epoch: short.MaxValue - 1);
        Assert.Equal(ErrorCode.None, (ErrorCode)again.ErrorCode);
        Assert.Equal(kip360.ProducerId, again.ProducerId);
    }

    [Theory]
    [InlineData(Tv1EndVersion)]
    [InlineData(Tv2EndVersion)]
    public async Task Keep_then_end_from_the_new_epoch_completes_the_kept_transaction(short endVersion)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx", enable2Pc: true);
        var keep = await InitOkAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
        Assert.Equal((pid, epoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));

        var end = await EndAsync(client, "tx", keep.ProducerId, keep.ProducerEpoch, commit: true, endVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        var marker = Assert.Single(markers.Written);
        Assert.True(marker.Commit);
        Assert.Equal(pid, marker.ProducerId);
        Assert.True(marker.Epoch > epoch, "the marker must carry an epoch above the kept transaction's batches");
        Assert.Equal("CompleteCommit", (await DescribeAsync(client, "tx")).TransactionState);
        if (endVersion == Tv2EndVersion)
        {
            // Bumped again at completion: above every epoch handed out before.
            Assert.Equal((pid, (short)(keep.ProducerEpoch + 1)), (end.ProducerId, end.ProducerEpoch));
        }

        // The kept transaction's original epoch cannot end anything now.
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)(await EndAsync(client, "tx", pid, epoch, true, endVersion)).ErrorCode);
    }

    [Fact]
    public async Task Repeated_keeps_bump_each_time_and_the_kept_transaction_survives()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx", enable2Pc: true);

        var epochs = new List<short>();
        for (var i = 0; i < 3; i++)
        {
            var keep = await InitOkAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
            Assert.Equal(pid, keep.ProducerId);
            Assert.Equal((pid, epoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));
            epochs.Add(keep.ProducerEpoch);
            var described = await DescribeAsync(client, "tx");
            Assert.Equal("Ongoing", described.TransactionState);
            Assert.Equal((pid, epoch), (described.ProducerId, described.ProducerEpoch));
            Assert.Equal([0], Assert.Single(described.Topics).Partitions);
        }

        Assert.Equal([(short)(epoch + 1), (short)(epoch + 2), (short)(epoch + 3)], epochs);
        Assert.Empty(markers.Written);

        // Every earlier client epoch is fenced; the latest commits the kept transaction.
        foreach (var stale in epochs.Take(2))
        {
            Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)(await EndAsync(client, "tx", pid, stale, true, Tv2EndVersion)).ErrorCode);
        }

        Assert.Equal("Ongoing", (await DescribeAsync(client, "tx")).TransactionState);
        var end = await EndAsync(client, "tx", pid, epochs[^1], true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.True(Assert.Single(markers.Written).Commit);
    }

    [Fact]
    public async Task A_delayed_end_txn_from_an_older_epoch_cannot_commit_a_later_transaction()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, _) = await BeginAsync(client, "tx", enable2Pc: true);
        var keep = await InitOkAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
        var end = await EndAsync(client, "tx", pid, keep.ProducerEpoch, commit: false, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);

        // The producer's next transaction, with the epoch the completion handed out.
        Assert.Equal(ErrorCode.None, await AddAsync(client, "tx", end.ProducerId, end.ProducerEpoch));
        Assert.Equal("Ongoing", (await DescribeAsync(client, "tx")).TransactionState);

        // The delayed request (sent with the keep epoch) arrives now, in both EndTxn flavours.
        foreach (var version in new[] { Tv2EndVersion, Tv1EndVersion })
        {
            var delayed = await EndAsync(client, "tx", pid, keep.ProducerEpoch, commit: true, version);
            Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)delayed.ErrorCode);
        }

        Assert.Equal("Ongoing", (await DescribeAsync(client, "tx")).TransactionState);
        Assert.DoesNotContain(markers.Written, m => m.Commit);
    }

    [Fact]
    public async Task Kept_transaction_and_fence_survive_a_restart()
    {
        await using var harness = await BrokerHarness.StartAsync();
        long pid;
        short epoch;
        InitProducerIdResponseView keep;
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            (pid, epoch) = await BeginAsync(client, "tx", enable2Pc: true);
            var k = await InitOkAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
            keep = new(k.ProducerId, k.ProducerEpoch);
        }

        await harness.CrashAndRestartAsync();
        await using var after = await harness.ConnectAsync();
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)(await EndAsync(after, "tx", pid, epoch, true, Tv2EndVersion)).ErrorCode);
        var end = await EndAsync(after, "tx", keep.ProducerId, keep.Epoch, true, Tv2EndVersion);
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.Equal("CompleteCommit", (await DescribeAsync(after, "tx")).TransactionState);
    }

    [Fact]
    public async Task Force_terminate_through_init_producer_id_aborts_a_prepared_2pc_transaction()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var producer = await harness.ConnectAsync();
        await using var admin = await harness.ConnectAsync();
        await CreateTopicAsync(producer, "t");
        var (pid, epoch) = await BeginAsync(producer, "tx", enable2Pc: true);

        // Admin.forceTerminateTransaction = fenceProducers: InitProducerId v5, no id/epoch, no 2PC flags.
        var first = await InitAsync(admin, "tx", 5);
        Assert.Equal(ErrorCode.ConcurrentTransactions, (ErrorCode)first.ErrorCode);
        var abort = Assert.Single(markers.Written);
        Assert.False(abort.Commit);
        Assert.Equal(pid, abort.ProducerId);
        var retry = await InitAsync(admin, "tx", 5);
        Assert.Equal(ErrorCode.None, (ErrorCode)retry.ErrorCode);
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)(await EndAsync(producer, "tx", pid, epoch, true)).ErrorCode);
        Assert.Equal(TimeoutMs, (await DescribeAsync(admin, "tx")).TransactionTimeoutMs);
    }

    private readonly record struct InitProducerIdResponseView(long ProducerId, short Epoch);

    private static TxnSnapshot Idle(long producerId, int epoch) => new()
    {
        ProducerId = producerId,
        ProducerEpoch = (short)epoch,
        TimeoutMs = TimeoutMs,
        State = TransactionState.CompleteCommit,
        LastUpdateMs = 1_700_000_000_000,
    };
}
