using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Groups;

/// <summary>
/// Classic group membership through the raw protocol: join/sync, KIP-394 member ids, rebalances, session expiry,
/// static membership (KIP-345), LeaveGroup. Timeouts run on a manual clock; nothing sleeps on the broker side.
/// </summary>
public sealed class GroupMembershipTests
{
    private const int Delay = 3000;

    [Fact]
    public async Task Two_members_join_one_leader_and_sync_distributes_assignments()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await using var b = await harness.ConnectAsync("b");

        var ids = new string[2];
        var pending = new int[2];
        var clients = new[] { a, b };
        for (var i = 0; i < 2; i++)
        {
            ids[i] = await clients[i].MemberIdAsync("g");
            pending[i] = await clients[i].StartJoinAsync(Groups.JoinRequest("g", ids[i], rebalanceTimeoutMs: Delay));
            // The two joins travel on different connections; without this wait b's could reach the coordinator first
            // and lead (seen once in CI under load), which is correct broker behaviour but not what this test checks.
            var joined = i + 1;
            await admin.WaitForGroupAsync("g", g => g.Members.Count == joined);
        }

        await admin.WaitForGroupAsync("g", g => g.Members.Count == 2 && g.GroupState == "PreparingRebalance");
        clock.Advance(Delay);
        var joinA = await a.ReadJoinAsync(pending[0]);
        var joinB = await b.ReadJoinAsync(pending[1]);

        Assert.Equal((short)ErrorCode.None, joinA.ErrorCode);
        Assert.Equal(1, joinA.GenerationId);
        Assert.Equal(joinA.GenerationId, joinB.GenerationId);
        Assert.Equal(ids[0], joinA.Leader); // first joiner leads
        Assert.Equal(joinA.Leader, joinB.Leader);
        Assert.Equal("range", joinA.ProtocolName);
        Assert.Equal("consumer", joinA.ProtocolType);
        Assert.Equal(2, joinA.Members.Count); // only the leader gets the member list
        Assert.Empty(joinB.Members);
        Assert.Equal(Groups.Subscription("t"), joinA.Members.Single(m => m.MemberId == ids[1]).Metadata);

        // The follower's SyncGroup (sent first) is parked until the leader's arrives, or served after it.
        var followerSync = b.SyncAsync(Groups.SyncRequest("g", 1, ids[1]));
        await admin.WaitForGroupAsync("g", g => g.GroupState == "CompletingRebalance");
        var leaderSync = await a.SyncAsync(Groups.SyncRequest("g", 1, ids[0], null, (ids[0], [1]), (ids[1], [2, 2])));
        Assert.Equal((short)ErrorCode.None, leaderSync.ErrorCode);
        Assert.Equal(new byte[] { 1 }, leaderSync.Assignment);
        var follower = await followerSync.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        Assert.Equal(new byte[] { 2, 2 }, follower.Assignment);
        Assert.Equal("range", follower.ProtocolName);

        Assert.Equal(ErrorCode.None, await a.HeartbeatAsync("g", 1, ids[0]));
        Assert.Equal(ErrorCode.IllegalGeneration, await b.HeartbeatAsync("g", 0, ids[1]));
        Assert.Equal(ErrorCode.UnknownMemberId, await b.HeartbeatAsync("g", 1, "nobody"));
        Assert.Equal(ErrorCode.UnknownMemberId, await b.HeartbeatAsync("no-such-group", 1, ids[1]));
        Assert.Equal("Stable", (await a.DescribeAsync("g")).GroupState);
    }

    [Fact]
    public async Task Member_id_required_from_v4_and_direct_admission_before()
    {
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(0));
        await using var client = await harness.ConnectAsync("c");

        var first = await client.JoinAsync(Groups.JoinRequest("g4"), 4);
        Assert.Equal((short)ErrorCode.MemberIdRequired, first.ErrorCode);
        Assert.StartsWith("c-", first.MemberId, StringComparison.Ordinal);
        var second = await client.JoinAsync(Groups.JoinRequest("g4", first.MemberId), 4);
        Assert.Equal((short)ErrorCode.None, second.ErrorCode);
        Assert.Equal(first.MemberId, second.MemberId);
        Assert.Equal(first.MemberId, second.Leader);

        // v3 cannot carry MEMBER_ID_REQUIRED: the member is admitted with a generated id at once.
        var old = await client.JoinAsync(Groups.JoinRequest("g3"), 3);
        Assert.Equal((short)ErrorCode.None, old.ErrorCode);
        Assert.NotEmpty(old.MemberId);
        Assert.Equal("range", old.ProtocolName);

        // A made-up member id is unknown; an out-of-bounds session timeout is rejected.
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await client.JoinAsync(Groups.JoinRequest("g4", "made-up"), 4)).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidSessionTimeout,
            (await client.JoinAsync(Groups.JoinRequest("g5", sessionTimeoutMs: 1000), 4)).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidGroupId, (await client.JoinAsync(Groups.JoinRequest(""), 4)).ErrorCode);
    }

    [Fact]
    public async Task Joining_member_triggers_rebalance_and_others_see_rebalance_in_progress()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await using var b = await harness.ConnectAsync("b");
        await using var c = await harness.ConnectAsync("c");
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a, b]);

        // A member with a different protocol set is inconsistent with the group.
        var wrong = await c.JoinAsync(Groups.JoinRequest("g", protocol: "roundrobin"));
        Assert.Equal((short)ErrorCode.InconsistentGroupProtocol, wrong.ErrorCode);

        var third = await c.MemberIdAsync("g");
        var pendingC = await c.StartJoinAsync(Groups.JoinRequest("g", third, rebalanceTimeoutMs: Delay));
        await a.WaitForHeartbeatAsync("g", generation, ids[0], ErrorCode.RebalanceInProgress);
        Assert.Equal(ErrorCode.RebalanceInProgress, await b.HeartbeatAsync("g", generation, ids[1]));

        // SyncGroup for the old generation during the rebalance: the member must rejoin.
        var staleSync = await b.SyncAsync(Groups.SyncRequest("g", generation, ids[1]));
        Assert.Equal((short)ErrorCode.RebalanceInProgress, staleSync.ErrorCode);

        var pendingA = await a.StartJoinAsync(Groups.JoinRequest("g", ids[0], rebalanceTimeoutMs: Delay));
        var pendingB = await b.StartJoinAsync(Groups.JoinRequest("g", ids[1], rebalanceTimeoutMs: Delay));
        var joins = new[] { await a.ReadJoinAsync(pendingA), await b.ReadJoinAsync(pendingB), await c.ReadJoinAsync(pendingC) };
        Assert.All(joins, j => Assert.Equal(generation + 1, j.GenerationId));
        Assert.Single(joins, j => j.Members.Count == 3);
        Assert.Equal(ErrorCode.IllegalGeneration, await a.HeartbeatAsync("g", generation, ids[0]));
    }

    [Fact]
    public async Task Members_that_do_not_rejoin_within_the_rebalance_timeout_are_removed()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await using var b = await harness.ConnectAsync("b");
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a, b]);

        // The leader rejoins (forcing a rebalance); B never does. The join phase waits for B...
        var pendingA = await a.StartJoinAsync(Groups.JoinRequest("g", ids[0], rebalanceTimeoutMs: Delay));
        await admin.WaitForGroupAsync("g", g => g.GroupState == "PreparingRebalance");
        Assert.Equal(ErrorCode.RebalanceInProgress, await b.HeartbeatAsync("g", generation, ids[1]));

        // ...until the rebalance timeout (3 s, below B's 10 s session) drops it.
        clock.Advance(Delay);
        var join = await a.ReadJoinAsync(pendingA);
        Assert.Equal(generation + 1, join.GenerationId);
        Assert.Equal(ids[0], Assert.Single(join.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, await b.HeartbeatAsync("g", generation, ids[1]));

        // A member that got its join response but never syncs is removed after the rebalance timeout too; here it
        // was the last one, so the group becomes Empty.
        clock.Advance(Delay);
        Assert.Equal(ErrorCode.UnknownMemberId, await a.HeartbeatAsync("g", generation + 1, ids[0]));
        var described = await admin.DescribeAsync("g");
        Assert.Equal("Empty", described.GroupState);
        Assert.Empty(described.Members);
    }

    [Fact]
    public async Task Session_timeout_expiry_removes_a_member_and_rebalances()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await using var b = await harness.ConnectAsync("b");
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a, b]);

        // A heartbeats every 6 s, B never does; the 10 s session of B runs out at the second step.
        clock.Advance(6000);
        Assert.Equal(ErrorCode.None, await a.HeartbeatAsync("g", generation, ids[0]));
        clock.Advance(6000);
        Assert.Equal(ErrorCode.RebalanceInProgress, await a.HeartbeatAsync("g", generation, ids[0]));
        var described = await a.DescribeAsync("g");
        Assert.Equal("PreparingRebalance", described.GroupState);
        Assert.Equal(ids[0], Assert.Single(described.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, await b.HeartbeatAsync("g", generation, ids[1]));

        // A rejoins alone: every remaining member joined, so the generation completes immediately.
        var rejoin = await a.JoinAsync(Groups.JoinRequest("g", ids[0], rebalanceTimeoutMs: Delay));
        Assert.Equal(generation + 1, rejoin.GenerationId);
        Assert.Single(rejoin.Members);
    }

    [Fact]
    public async Task Static_member_rejoin_keeps_assignment_and_fences_the_stale_instance()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await using var b = await harness.ConnectAsync("b");
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a, b], instanceIds: ["instance-a", null]);
        Assert.StartsWith("instance-a-", ids[0], StringComparison.Ordinal);

        // A restarts: it joins with its instance id and no member id. No rebalance (KIP-345): same generation.
        await using var restarted = await harness.ConnectAsync("a");
        var rejoin = await restarted.JoinAsync(Groups.JoinRequest("g", "", "instance-a", rebalanceTimeoutMs: Delay), 8);
        Assert.Equal((short)ErrorCode.None, rejoin.ErrorCode);
        Assert.Equal(generation, rejoin.GenerationId);
        Assert.NotEqual(ids[0], rejoin.MemberId);
        Assert.Equal(ErrorCode.None, await b.HeartbeatAsync("g", generation, ids[1]));

        var sync = await restarted.SyncAsync(Groups.SyncRequest("g", generation, rejoin.MemberId, "instance-a"));
        Assert.Equal((short)ErrorCode.None, sync.ErrorCode);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes("assignment-of-" + ids[0]), sync.Assignment);

        // The old incarnation is fenced everywhere it presents the instance id.
        Assert.Equal(ErrorCode.FencedInstanceId, await a.HeartbeatAsync("g", generation, ids[0], "instance-a"));
        var fencedSync = await a.SyncAsync(Groups.SyncRequest("g", generation, ids[0], "instance-a"));
        Assert.Equal((short)ErrorCode.FencedInstanceId, fencedSync.ErrorCode);
        Assert.Equal("Stable", (await b.DescribeAsync("g")).GroupState);
    }

    [Fact]
    public async Task Leave_group_rebalances_the_rest_and_reports_unknown_members()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await using var b = await harness.ConnectAsync("b");
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a, b]);

        var leave = await b.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest
        {
            GroupId = "g",
            Members = [new LeaveGroupRequest.MemberIdentity { MemberId = ids[1] }, new LeaveGroupRequest.MemberIdentity { MemberId = "ghost" }],
        }, 5);
        Assert.Equal((short)ErrorCode.None, leave.ErrorCode);
        Assert.Equal((short)ErrorCode.None, leave.Members.Single(m => m.MemberId == ids[1]).ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownMemberId, leave.Members.Single(m => m.MemberId == "ghost").ErrorCode);

        Assert.Equal(ErrorCode.RebalanceInProgress, await a.HeartbeatAsync("g", generation, ids[0]));
        var rejoin = await a.JoinAsync(Groups.JoinRequest("g", ids[0], rebalanceTimeoutMs: Delay));
        Assert.Equal(generation + 1, rejoin.GenerationId);
        Assert.Single(rejoin.Members);

        // v0-2 carry one member and one error code.
        var old = await b.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g", MemberId = ids[1] }, 1);
        Assert.Equal((short)ErrorCode.UnknownMemberId, old.ErrorCode);

        // The last member leaving empties the group and bumps the generation.
        var last = await a.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g", MemberId = ids[0] }, 2);
        Assert.Equal((short)ErrorCode.None, last.ErrorCode);
        Assert.Equal("Empty", (await a.DescribeAsync("g")).GroupState);
    }

    [Fact]
    public async Task Generation_survives_a_restart_and_members_rejoin()
    {
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(0));
        await using (var client = await harness.ConnectAsync("c"))
        {
            var id = await client.MemberIdAsync("g");
            var join = await client.JoinAsync(Groups.JoinRequest("g", id));
            Assert.Equal(1, join.GenerationId);
            Assert.Equal((short)ErrorCode.None, (await client.SyncAsync(Groups.SyncRequest("g", 1, id, null, (id, [7])))).ErrorCode);
        }

        // Membership is not persisted: after the restart the group is Empty and the old member must rejoin; the
        // generation keeps counting so no stale generation id is reused.
        await harness.RestartAsync(Groups.Settings(0));
        await using var after = await harness.ConnectAsync("c");
        Assert.Equal("Empty", (await after.DescribeAsync("g")).GroupState);
        var rejoin = await after.JoinAsync(Groups.JoinRequest("g", "stale-member"));
        Assert.Equal((short)ErrorCode.UnknownMemberId, rejoin.ErrorCode);
        var id2 = await after.MemberIdAsync("g");
        var join2 = await after.JoinAsync(Groups.JoinRequest("g", id2));
        Assert.Equal(2, join2.GenerationId);
    }

    [Fact]
    public async Task Shutdown_answers_parked_joins_instead_of_hanging()
    {
        var clock = new ManualClock();
        var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var client = await harness.ConnectAsync("c");
        var id = await client.MemberIdAsync("g");
        _ = await client.StartJoinAsync(Groups.JoinRequest("g", id, rebalanceTimeoutMs: Delay));
        await using (var admin = await harness.ConnectAsync("admin"))
        {
            await admin.WaitForGroupAsync("g", g => g.Members.Count == 1);
        }

        // The join is parked in the initial-rebalance delay (the clock never moves); disposal must still finish.
        await harness.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Find_coordinator_answers_this_node_for_groups_only()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var v0 = await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "g" }, 0);
        Assert.Equal((short)ErrorCode.None, v0.ErrorCode);
        Assert.Equal(harness.Broker.Config.NodeId, v0.NodeId);
        Assert.Equal(harness.Broker.AdvertisedPort, v0.Port);

        var v4 = await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(
            new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["g1", "g2"] }, 4);
        Assert.Equal(["g1", "g2"], v4.Coordinators.Select(c => c.Key));
        Assert.All(v4.Coordinators, c => Assert.Equal(harness.Broker.AdvertisedHost, c.Host));

        // Transactional ids are served by the transaction coordinator, on this node too (issue 4).
        var txn = await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(
            new FindCoordinatorRequest { KeyType = 1, Key = "tx" }, 3);
        Assert.Equal((short)ErrorCode.None, txn.ErrorCode);
        Assert.Equal(harness.Broker.Config.NodeId, txn.NodeId);

        // Key type 2 (share groups) is not served.
        var share = await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(
            new FindCoordinatorRequest { KeyType = 2, CoordinatorKeys = ["s"] }, 4);
        Assert.Equal((short)ErrorCode.InvalidRequest, Assert.Single(share.Coordinators).ErrorCode);
    }
}
