using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Groups;

/// <summary>
/// Committed offsets and group administration through the raw protocol: commit/fetch round trips, generation
/// fencing, durability across a restart, DescribeGroups/ListGroups/DeleteGroups and OffsetDelete.
/// </summary>
public sealed class GroupOffsetTests
{
    private const int Delay = 3000;

    [Fact]
    public async Task Commit_and_fetch_round_trip_offsets_metadata_and_epochs()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 3);

        // A simple consumer (generation -1, no member) commits to a group that does not exist yet.
        var errors = await client.CommitAsync(Groups.CommitRequest("simple", -1, "",
            ("t", 0, 42, "meta-0"), ("t", 1, 7, null), ("missing", 0, 1, null), ("t", 9, 1, null)));
        Assert.Equal([ErrorCode.None, ErrorCode.None, ErrorCode.UnknownTopicOrPartition, ErrorCode.UnknownTopicOrPartition], errors);

        var fetched = await client.FetchAsync("simple", [("t", [0, 1, 2])]);
        Assert.Equal((short)ErrorCode.None, fetched.ErrorCode);
        Assert.Equal(42, fetched.Partition("t", 0).CommittedOffset);
        Assert.Equal("meta-0", fetched.Partition("t", 0).Metadata);
        Assert.Equal(0, fetched.Partition("t", 0).CommittedLeaderEpoch);
        Assert.Equal(7, fetched.Partition("t", 1).CommittedOffset);
        Assert.Equal("", fetched.Partition("t", 1).Metadata);
        Assert.Equal(-1, fetched.Partition("t", 2).CommittedOffset);
        Assert.Equal(-1, fetched.Partition("t", 2).CommittedLeaderEpoch);

        // All partitions (Topics null) lists exactly the committed ones.
        var all = await client.FetchAsync("simple", null);
        Assert.Equal([0, 1], Assert.Single(all.Topics).Partitions.Select(p => p.PartitionIndex).Order());

        // The pre-v8 shape (single group, v1 without top-level error) carries the same data.
        var v1 = await client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            GroupId = "simple",
            Topics = [new OffsetFetchRequest.OffsetFetchRequestTopic { Name = "t", PartitionIndexes = [0] }],
        }, 1);
        var p0 = Assert.Single(Assert.Single(v1.Topics).Partitions);
        Assert.Equal(42, p0.CommittedOffset);
        Assert.Equal("meta-0", p0.Metadata);

        // A group nobody used: -1, no error.
        Assert.Equal(-1, (await client.FetchAsync("nobody", [("t", [0])])).Partition("t", 0).CommittedOffset);

        // Metadata longer than offset.metadata.max.bytes is refused per partition.
        var tooLarge = await client.CommitAsync(Groups.CommitRequest("simple", -1, "", ("t", 2, 5, new string('x', 4097))));
        Assert.Equal([ErrorCode.OffsetMetadataTooLarge], tooLarge);
    }

    [Fact]
    public async Task Commits_are_fenced_by_generation_and_membership()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await a.CreateTopicAsync("t", 1);
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a]);

        Assert.Equal([ErrorCode.None], await a.CommitAsync(Groups.CommitRequest("g", generation, ids[0], ("t", 0, 10, "m"))));
        Assert.Equal([ErrorCode.IllegalGeneration], await a.CommitAsync(Groups.CommitRequest("g", generation - 1, ids[0], ("t", 0, 11, null))));
        Assert.Equal([ErrorCode.UnknownMemberId], await a.CommitAsync(Groups.CommitRequest("g", generation, "intruder", ("t", 0, 11, null))));

        // Generation -1 without a member id is for empty groups only.
        Assert.Equal([ErrorCode.UnknownMemberId], await a.CommitAsync(Groups.CommitRequest("g", -1, "", ("t", 0, 11, null))));

        // A commit with a generation to a group that does not exist: v9 GROUP_ID_NOT_FOUND, older ILLEGAL_GENERATION.
        Assert.Equal([ErrorCode.GroupIdNotFound], await a.CommitAsync(Groups.CommitRequest("ghost", 3, "m", ("t", 0, 1, null)), 9));
        Assert.Equal([ErrorCode.IllegalGeneration], await a.CommitAsync(Groups.CommitRequest("ghost", 3, "m", ("t", 0, 1, null)), 8));

        // The rejected commits changed nothing.
        Assert.Equal(10, (await a.FetchAsync("g", [("t", [0])])).Partition("t", 0).CommittedOffset);

        // After the member leaves, the group is Empty and accepts manual (generation -1) commits.
        await a.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g", MemberId = ids[0] }, 0);
        Assert.Equal([ErrorCode.None], await a.CommitAsync(Groups.CommitRequest("g", -1, "", ("t", 0, 12, null)), 2));
        Assert.Equal(12, (await a.FetchAsync("g", [("t", [0])])).Partition("t", 0).CommittedOffset);
    }

    [Fact]
    public async Task Offsets_and_deletions_survive_a_restart()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using (var client = await harness.ConnectAsync())
        {
            await client.CreateTopicAsync("t", 2);
            await client.CommitAsync(Groups.CommitRequest("kept", -1, "", ("t", 0, 100, "first"), ("t", 1, 5, null)));
            await client.CommitAsync(Groups.CommitRequest("kept", -1, "", ("t", 0, 200, "second"))); // last write wins
            await client.CommitAsync(Groups.CommitRequest("deleted", -1, "", ("t", 0, 1, null)));
            var deleted = await client.SendAsync<DeleteGroupsRequest, DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = ["deleted"] }, 2);
            Assert.Equal((short)ErrorCode.None, Assert.Single(deleted.Results).ErrorCode);
        }

        await harness.RestartAsync();
        await using var after = await harness.ConnectAsync();
        var kept = await after.FetchAsync("kept", [("t", [0, 1])]);
        Assert.Equal(200, kept.Partition("t", 0).CommittedOffset);
        Assert.Equal("second", kept.Partition("t", 0).Metadata);
        Assert.Equal(5, kept.Partition("t", 1).CommittedOffset);
        Assert.Equal(-1, (await after.FetchAsync("deleted", [("t", [0])])).Partition("t", 0).CommittedOffset);

        var listed = await after.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 5);
        Assert.Equal(["kept"], listed.Groups.Select(g => g.GroupId));

        // The internal log is not a topic.
        var metadata = await after.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        Assert.DoesNotContain(metadata.Topics, t => t.Name == "__consumer_offsets");
    }

    [Fact]
    public async Task Describe_list_and_delete_groups()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await a.CreateTopicAsync("t", 1);
        var (ids, _, _) = await Groups.FormStableGroupAsync(clock, Delay, "live", admin, [a]);
        await a.CommitAsync(Groups.CommitRequest("idle", -1, "", ("t", 0, 3, null)));

        var live = await a.DescribeAsync("live");
        Assert.Equal("Stable", live.GroupState);
        Assert.Equal("consumer", live.ProtocolType);
        Assert.Equal("range", live.ProtocolData);
        var member = Assert.Single(live.Members);
        Assert.Equal(ids[0], member.MemberId);
        Assert.Equal("a", member.ClientId);
        Assert.Equal(Groups.Subscription("t"), member.MemberMetadata);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes("assignment-of-" + ids[0]), member.MemberAssignment);
        Assert.NotEqual(int.MinValue, live.AuthorizedOperations);
        var unknown = await a.DescribeAsync("unknown");
        Assert.Equal("Dead", unknown.GroupState);
        Assert.Equal((short)ErrorCode.None, unknown.ErrorCode);

        var list = await a.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 5);
        Assert.Equal(["idle", "live"], list.Groups.Select(g => g.GroupId));
        Assert.Equal("Empty", list.Groups.Single(g => g.GroupId == "idle").GroupState);
        Assert.All(list.Groups, g => Assert.Equal("classic", g.GroupType));
        var empty = await a.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest { StatesFilter = ["empty"] }, 4);
        Assert.Equal(["idle"], empty.Groups.Select(g => g.GroupId));
        var consumerType = await a.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest { TypesFilter = ["consumer"] }, 5);
        Assert.Empty(consumerType.Groups);
        var v0 = await a.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 0);
        Assert.Equal(2, v0.Groups.Count);

        var delete = await a.SendAsync<DeleteGroupsRequest, DeleteGroupsResponse>(
            new DeleteGroupsRequest { GroupsNames = ["live", "idle", "unknown"] }, 2);
        Assert.Equal((short)ErrorCode.NonEmptyGroup, delete.Results.Single(r => r.GroupId == "live").ErrorCode);
        Assert.Equal((short)ErrorCode.None, delete.Results.Single(r => r.GroupId == "idle").ErrorCode);
        Assert.Equal((short)ErrorCode.GroupIdNotFound, delete.Results.Single(r => r.GroupId == "unknown").ErrorCode);
        Assert.Equal(-1, (await a.FetchAsync("idle", [("t", [0])])).Partition("t", 0).CommittedOffset);
        Assert.Equal(["live"], (await a.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 3)).Groups.Select(g => g.GroupId));
    }

    [Fact]
    public async Task Offset_delete_refuses_subscribed_topics()
    {
        var clock = new ManualClock();
        await using var harness = await BrokerHarness.StartAsync(Groups.Settings(Delay), time: clock);
        await using var admin = await harness.ConnectAsync("admin");
        await using var a = await harness.ConnectAsync("a");
        await a.CreateTopicAsync("t", 1);
        await a.CreateTopicAsync("u", 1);
        var (ids, generation, _) = await Groups.FormStableGroupAsync(clock, Delay, "g", admin, [a]); // subscribes to "t"
        await a.CommitAsync(Groups.CommitRequest("g", generation, ids[0], ("t", 0, 1, null), ("u", 0, 2, null)));

        var response = await a.SendAsync<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest
        {
            GroupId = "g",
            Topics =
            [
                new OffsetDeleteRequest.OffsetDeleteRequestTopic { Name = "t", Partitions = [new OffsetDeleteRequest.OffsetDeleteRequestPartition { PartitionIndex = 0 }] },
                new OffsetDeleteRequest.OffsetDeleteRequestTopic { Name = "u", Partitions = [new OffsetDeleteRequest.OffsetDeleteRequestPartition { PartitionIndex = 0 }] },
            ],
        }, 0);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Equal((short)ErrorCode.GroupSubscribedToTopic, response.Topics.Single(t => t.Name == "t").Partitions[0].ErrorCode);
        Assert.Equal((short)ErrorCode.None, response.Topics.Single(t => t.Name == "u").Partitions[0].ErrorCode);

        var fetched = await a.FetchAsync("g", [("t", [0]), ("u", [0])]);
        Assert.Equal(1, fetched.Partition("t", 0).CommittedOffset);
        Assert.Equal(-1, fetched.Partition("u", 0).CommittedOffset);

        var unknown = await a.SendAsync<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest { GroupId = "nope" }, 0);
        Assert.Equal((short)ErrorCode.GroupIdNotFound, unknown.ErrorCode);
    }

    [Fact]
    public async Task Offsets_of_an_empty_group_expire_after_the_retention()
    {
        var clock = new ManualClock();
        var settings = new Dictionary<string, string>
        {
            ["offsets.retention.minutes"] = "1",
            ["offsets.retention.check.interval.ms"] = "1000",
        };
        await using var harness = await BrokerHarness.StartAsync(settings, time: clock);
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);
        await client.CommitAsync(Groups.CommitRequest("g", -1, "", ("t", 0, 9, null)));

        clock.Advance(30_000);
        Assert.Equal(9, (await client.FetchAsync("g", [("t", [0])])).Partition("t", 0).CommittedOffset);
        clock.Advance(31_000);
        Assert.Equal(-1, (await client.FetchAsync("g", [("t", [0])])).Partition("t", 0).CommittedOffset);
        Assert.Empty((await client.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 5)).Groups);
    }
}
