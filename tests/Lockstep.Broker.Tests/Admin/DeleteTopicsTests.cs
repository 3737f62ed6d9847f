using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>DeleteTopics by name (v1-5) and by name or id (v6), with Kafka's per-topic errors.</summary>
public sealed class DeleteTopicsTests
{
    private static Task<DeleteTopicsResponse> DeleteByNameAsync(RawKafkaClient client, short version, params string[] names) =>
        client.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = names.ToList() }, version);

    private static Task<DeleteTopicsResponse> DeleteV6Async(RawKafkaClient client, params (string? Name, Guid Id)[] topics) =>
        client.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(
            new DeleteTopicsRequest { Topics = topics.Select(t => new DeleteTopicsRequest.DeleteTopicState { Name = t.Name, TopicId = t.Id }).ToList() }, 6);

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Deletes_by_name_and_reports_unknown_names(short version)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("gone", 2);

        var response = await DeleteByNameAsync(client, version, "gone", "never");

        var gone = Assert.Single(response.Responses, r => r.Name == "gone");
        Assert.Equal((short)ErrorCode.None, gone.ErrorCode);
        var never = Assert.Single(response.Responses, r => r.Name == "never");
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, never.ErrorCode);
        if (version >= 5)
        {
            Assert.NotNull(never.ErrorMessage);
        }
        else
        {
            Assert.Null(never.ErrorMessage); // the field does not exist before v5
        }

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await client.DescribeTopicAsync("gone")).ErrorCode);
    }

    [Fact]
    public async Task V6_deletes_by_id_or_name_and_reports_unknown_ids()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var byId = (await client.CreateTopicAsync("by-id", 1)).TopicId;
        var byNameId = (await client.CreateTopicAsync("by-name", 1)).TopicId;
        var unknown = Guid.NewGuid();

        var response = await DeleteV6Async(client, (null, byId), ("by-name", Guid.Empty), (null, unknown));

        var first = Assert.Single(response.Responses, r => r.TopicId == byId);
        Assert.Equal(("by-id", (short)ErrorCode.None), (first.Name, first.ErrorCode));
        var second = Assert.Single(response.Responses, r => r.Name == "by-name");
        Assert.Equal((byNameId, (short)ErrorCode.None), (second.TopicId, second.ErrorCode));
        var third = Assert.Single(response.Responses, r => r.TopicId == unknown);
        Assert.Equal((null, (short)ErrorCode.UnknownTopicId), (third.Name, third.ErrorCode));
    }

    [Fact]
    public async Task V6_invalid_entries_and_duplicates_are_invalid_request()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var id = (await client.CreateTopicAsync("t", 1)).TopicId;
        var other = (await client.CreateTopicAsync("u", 1)).TopicId;

        var response = await DeleteV6Async(client,
            (null, Guid.Empty),
            ("t", id),
            ("dup", Guid.Empty),
            ("dup", Guid.Empty),
            (null, other),
            ("u", Guid.Empty));

        Assert.Contains(response.Responses, r => r.ErrorCode == (short)ErrorCode.InvalidRequest && r.ErrorMessage == "Neither topic name nor id were specified.");
        Assert.Contains(response.Responses, r => r.ErrorCode == (short)ErrorCode.InvalidRequest && r.ErrorMessage == "You may not specify both topic name and topic id.");
        Assert.Single(response.Responses, r => r.Name == "dup" && r.ErrorMessage == "Duplicate topic name.");
        Assert.Single(response.Responses, r => r.Name == "u" && r.ErrorMessage == "The provided topic name maps to an ID that was already supplied.");
        Assert.Single(response.Responses, r => r.TopicId == other && r.ErrorCode == (short)ErrorCode.None);
        Assert.Equal((short)ErrorCode.None, (await client.DescribeTopicAsync("t")).ErrorCode); // "both" deleted nothing
    }

    [Fact]
    public async Task Deletion_survives_a_restart_and_the_name_can_be_reused_with_a_new_id()
    {
        await using var harness = await BrokerHarness.StartAsync();
        Guid oldId;
        await using (var client = await harness.ConnectAsync())
        {
            oldId = (await client.CreateTopicAsync("reused", 3, ("retention.ms", "5000"))).TopicId;
            await client.CreateTopicAsync("kept", 1);
            Assert.Equal((short)ErrorCode.None, Assert.Single((await DeleteByNameAsync(client, 5, "reused")).Responses).ErrorCode);
        }

        await harness.RestartAsync();

        await using var after = await harness.ConnectAsync();
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await after.DescribeTopicAsync("reused")).ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await after.DescribeTopicAsync("kept")).ErrorCode);
        var recreated = await after.CreateTopicAsync("reused", 1);
        Assert.NotEqual(oldId, recreated.TopicId);
        await after.AssertPartitionCountAsync("reused", 1);
        var configs = await after.DescribeTopicAsync("reused");
        Assert.Equal((sbyte)5, configs.Config("retention.ms").ConfigSource); // the old override went with the topic
    }
}
