using Lockstep.Broker.Tests.Groups;
using GroupTestSupport = Lockstep.Broker.Tests.Groups.Groups;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Offsets;

/// <summary>
/// TxnOffsetCommit through the raw protocol: the TV1 flow (AddOffsetsToTxn + TxnOffsetCommit v3 + EndTxn v4), the TV2
/// flow (TxnOffsetCommit v5 adds the group implicitly, EndTxn v5), RequireStable while pending, version-gated errors,
/// KIP-447 generation fencing, and pending offsets across restarts.
/// </summary>
public sealed class TxnOffsetCommitTests
{
    private const string Group = "txn-group";

    private static async Task<(BrokerHarness Harness, RawKafkaClient Client)> StartAsync()
    {
        var harness = await BrokerHarness.StartAsync(GroupTestSupport.Settings(initialDelayMs: 0));
        var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 2);
        return (harness, client);
    }

    private static async Task<ErrorCode> AddOffsetsAsync(RawKafkaClient client, string id, long producerId, short epoch, short version = 3)
    {
        var response = await client.SendAsync<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>(new AddOffsetsToTxnRequest
        {
            TransactionalId = id,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            GroupId = Group,
        }, version);
        return (ErrorCode)response.ErrorCode;
    }

    private static async Task<ErrorCode[]> TxnCommitAsync(RawKafkaClient client, string id, long producerId, short epoch, short version,
        int generation = -1, string memberId = "", params (int Partition, long Offset)[] offsets)
    {
        var response = await client.SendAsync<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(new TxnOffsetCommitRequest
        {
            TransactionalId = id,
            GroupId = Group,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            GenerationIdOrMemberEpoch = generation,
            MemberId = memberId,
            Topics =
            [
                new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
                {
                    Name = "t",
                    Partitions = [.. offsets.Select(o => new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition
                    {
                        PartitionIndex = o.Partition,
                        CommittedOffset = o.Offset,
                        CommittedMetadata = "m",
                    })],
                },
            ],
        }, version);
        return [.. response.Topics.SelectMany(t => t.Partitions).Select(p => (ErrorCode)p.ErrorCode)];
    }

    /// <summary>OffsetFetch v9 with RequireStable: (error, committed offset) of partition <paramref name="partition"/> of t.</summary>
    private static async Task<(ErrorCode Error, long Offset)> FetchAsync(RawKafkaClient client, int partition = 0)
    {
        var group = await client.FetchAsync(Group, [("t", [partition])]);
        var p = group.Partition("t", partition);
        return ((ErrorCode)p.ErrorCode, p.CommittedOffset);
    }

    private static async Task<(ErrorCode Error, long Offset)> WaitStableAsync(RawKafkaClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var result = await FetchAsync(client);
            if (result.Error != ErrorCode.UnstableOffsetCommit || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Tv1_commit_applies_the_offsets_and_requireStable_reports_them_unstable_until_then()
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var init = await InitOkAsync(client, "tv1-commit");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "tv1-commit", init.ProducerId, init.ProducerEpoch));
        Assert.Equal([ErrorCode.None, ErrorCode.None],
            await TxnCommitAsync(client, "tv1-commit", init.ProducerId, init.ProducerEpoch, 3, offsets: [(0, 42), (1, 7)]));

        Assert.Equal(ErrorCode.UnstableOffsetCommit, (await FetchAsync(client)).Error);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, (await FetchAsync(client, 1)).Error);

        var end = await EndAsync(client, "tv1-commit", init.ProducerId, init.ProducerEpoch, commit: true);
        Assert.Equal((short)ErrorCode.None, end.ErrorCode);
        Assert.Equal((ErrorCode.None, 42L), await FetchAsync(client));
        Assert.Equal((ErrorCode.None, 7L), await FetchAsync(client, 1));
    }

    [Fact]
    public async Task Tv1_abort_drops_the_offsets_and_keeps_the_previous_commit()
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        Assert.Equal([ErrorCode.None], await client.CommitAsync(GroupTestSupport.CommitRequest(Group, -1, "", ("t", 0, 5, null))));
        var init = await InitOkAsync(client, "tv1-abort");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "tv1-abort", init.ProducerId, init.ProducerEpoch));
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "tv1-abort", init.ProducerId, init.ProducerEpoch, 3, offsets: [(0, 42)]));
        Assert.Equal(ErrorCode.UnstableOffsetCommit, (await FetchAsync(client)).Error);

        var end = await EndAsync(client, "tv1-abort", init.ProducerId, init.ProducerEpoch, commit: false);
        Assert.Equal((short)ErrorCode.None, end.ErrorCode);
        Assert.Equal((ErrorCode.None, 5L), await FetchAsync(client));
    }

    [Theory]
    [InlineData(3, ErrorCode.InvalidTxnState)]
    [InlineData(4, ErrorCode.TransactionAbortable)]
    public async Task Tv1_without_AddOffsetsToTxn_is_refused_with_the_version_gated_error(short version, ErrorCode expected)
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var init = await InitOkAsync(client, "no-add");
        Assert.Equal([expected], await TxnCommitAsync(client, "no-add", init.ProducerId, init.ProducerEpoch, version, offsets: [(0, 42)]));
        Assert.Equal((ErrorCode.None, -1L), await FetchAsync(client));
    }

    [Fact]
    public async Task A_stale_producer_epoch_gets_INVALID_PRODUCER_EPOCH()
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var old = await InitOkAsync(client, "fenced");
        var current = await InitOkAsync(client, "fenced");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "fenced", current.ProducerId, current.ProducerEpoch));
        Assert.Equal([ErrorCode.InvalidProducerEpoch],
            await TxnCommitAsync(client, "fenced", old.ProducerId, old.ProducerEpoch, 3, offsets: [(0, 42)]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Tv2_TxnOffsetCommit_v5_adds_the_group_implicitly(bool commit)
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var init = await InitOkAsync(client, "tv2");
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "tv2", init.ProducerId, init.ProducerEpoch, 5, offsets: [(0, 42)]));
        Assert.Equal("Ongoing", (await DescribeAsync(client, "tv2")).TransactionState);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, (await FetchAsync(client)).Error);

        var end = await EndAsync(client, "tv2", init.ProducerId, init.ProducerEpoch, commit, Tv2EndVersion);
        Assert.Equal((short)ErrorCode.None, end.ErrorCode);
        Assert.Equal((ErrorCode.None, commit ? 42L : -1L), await FetchAsync(client));

        // The next transaction uses the bumped epoch EndTxn v5 returned.
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "tv2", end.ProducerId, end.ProducerEpoch, 5, offsets: [(0, 50)]));
        Assert.Equal((short)ErrorCode.None, (await EndAsync(client, "tv2", end.ProducerId, end.ProducerEpoch, true, Tv2EndVersion)).ErrorCode);
        Assert.Equal((ErrorCode.None, 50L), await FetchAsync(client));
    }

    [Fact]
    public async Task Kip447_generation_and_member_fencing()
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var member = await client.MemberIdAsync(Group);
        var join = await client.JoinAsync(GroupTestSupport.JoinRequest(Group, member));
        Assert.Equal((short)ErrorCode.None, join.ErrorCode);
        var sync = await client.SyncAsync(GroupTestSupport.SyncRequest(Group, join.GenerationId, member, null, (member, [1, 2, 3])));
        Assert.Equal((short)ErrorCode.None, sync.ErrorCode);

        var init = await InitOkAsync(client, "kip447");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "kip447", init.ProducerId, init.ProducerEpoch));
        Assert.Equal([ErrorCode.IllegalGeneration],
            await TxnCommitAsync(client, "kip447", init.ProducerId, init.ProducerEpoch, 3, join.GenerationId + 1, member, (0, 1L)));
        Assert.Equal([ErrorCode.UnknownMemberId],
            await TxnCommitAsync(client, "kip447", init.ProducerId, init.ProducerEpoch, 3, join.GenerationId, "zombie", (0, 1L)));
        Assert.Equal([ErrorCode.None],
            await TxnCommitAsync(client, "kip447", init.ProducerId, init.ProducerEpoch, 3, join.GenerationId, member, (0, 9L)));

        // v0-2 carry no member/generation: accepted for a non-empty group (pre-KIP-447 producers).
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "kip447", init.ProducerId, init.ProducerEpoch, 2, offsets: [(1, 3)]));
        Assert.Equal((short)ErrorCode.None, (await EndAsync(client, "kip447", init.ProducerId, init.ProducerEpoch, true)).ErrorCode);
        Assert.Equal((ErrorCode.None, 9L), await FetchAsync(client));
        Assert.Equal((ErrorCode.None, 3L), await FetchAsync(client, 1));
    }

    [Fact]
    public async Task A_regular_commit_after_the_transactional_one_wins_when_the_transaction_commits()
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var init = await InitOkAsync(client, "mixed");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "mixed", init.ProducerId, init.ProducerEpoch));
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "mixed", init.ProducerId, init.ProducerEpoch, 3, offsets: [(0, 42)]));
        Assert.Equal([ErrorCode.None], await client.CommitAsync(GroupTestSupport.CommitRequest(Group, -1, "", ("t", 0, 60, null))));
        Assert.Equal((short)ErrorCode.None, (await EndAsync(client, "mixed", init.ProducerId, init.ProducerEpoch, true)).ErrorCode);
        Assert.Equal((ErrorCode.None, 60L), await FetchAsync(client));
    }

    [Fact]
    public async Task Pending_offsets_of_an_ongoing_transaction_survive_a_restart()
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var init = await InitOkAsync(client, "restart");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "restart", init.ProducerId, init.ProducerEpoch));
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "restart", init.ProducerId, init.ProducerEpoch, 3, offsets: [(0, 42)]));
        await client.DisposeAsync();

        await harness.CrashAndRestartAsync();
        await using var after = await harness.ConnectAsync();
        Assert.Equal(ErrorCode.UnstableOffsetCommit, (await FetchAsync(after)).Error);
        Assert.Equal((short)ErrorCode.None, (await EndAsync(after, "restart", init.ProducerId, init.ProducerEpoch, true)).ErrorCode);
        Assert.Equal((ErrorCode.None, 42L), await FetchAsync(after));

        // Replay after the marker: applied, nothing pending.
        await harness.RestartAsync();
        await using var again = await harness.ConnectAsync();
        Assert.Equal((ErrorCode.None, 42L), await FetchAsync(again));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_crash_in_Prepare_is_resolved_by_the_markers_resent_at_start_up(bool commit)
    {
        var (harness, client) = await StartAsync();
        await using var _ = harness;
        var init = await InitOkAsync(client, "prepare");
        Assert.Equal(ErrorCode.None, await AddOffsetsAsync(client, "prepare", init.ProducerId, init.ProducerEpoch));
        Assert.Equal([ErrorCode.None], await TxnCommitAsync(client, "prepare", init.ProducerId, init.ProducerEpoch, 3, offsets: [(0, 42)]));
        var markers = RecordMarkers(harness);
        markers.Hold();
        var end = EndAsync(client, "prepare", init.ProducerId, init.ProducerEpoch, commit);
        await markers.Blocked;

        await harness.CrashAndRestartAsync();
        await using var after = await harness.ConnectAsync();
        var (error, offset) = await WaitStableAsync(after);
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(commit ? 42L : -1L, offset);
        await Task.WhenAny(end, Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken)); // The dead broker's answer (or failure) is moot.
    }
}
