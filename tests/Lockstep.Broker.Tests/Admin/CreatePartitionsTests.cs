using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>CreatePartitions: grow only, assignments for a single node, validateOnly, persistence.</summary>
public sealed class CreatePartitionsTests
{
    private static async Task<CreatePartitionsResponse.CreatePartitionsTopicResult> GrowAsync(
        RawKafkaClient client, string topic, int count, bool validateOnly = false, List<int>[]? assignments = null, short version = 3)
    {
        var response = await client.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            Topics =
            [
                new()
                {
                    Name = topic,
                    Count = count,
                    Assignments = assignments?.Select(a => new CreatePartitionsRequest.CreatePartitionsAssignment { BrokerIds = a }).ToList(),
                },
            ],
            ValidateOnly = validateOnly,
        }, version);
        return Assert.Single(response.Results);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Grows_a_topic_and_the_growth_survives_a_restart(short version)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using (var client = await harness.ConnectAsync())
        {
            await client.CreateTopicAsync("grow", 1);
            var result = await GrowAsync(client, "grow", 3, version: version);
            Assert.Equal((short)ErrorCode.None, result.ErrorCode);
            Assert.Null(result.ErrorMessage);
            await client.AssertPartitionCountAsync("grow", 3);
        }

        await harness.RestartAsync();

        await using var after = await harness.ConnectAsync();
        await after.AssertPartitionCountAsync("grow", 3);
    }

    [Fact]
    public async Task Same_or_smaller_count_is_invalid_partitions_and_unknown_topic_is_reported()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 2);

        var same = await GrowAsync(client, "t", 2);
        var smaller = await GrowAsync(client, "t", 1);
        var unknown = await GrowAsync(client, "nope", 4);

        Assert.Equal(((short)ErrorCode.InvalidPartitions, "Topic already has 2 partition(s)."), (same.ErrorCode, same.ErrorMessage));
        Assert.Equal(((short)ErrorCode.InvalidPartitions, "The topic t currently has 2 partition(s); 1 would not be an increase."),
            (smaller.ErrorCode, smaller.ErrorMessage));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, unknown.ErrorCode);
    }

    [Fact]
    public async Task Assignments_must_name_this_node_once_per_new_partition()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var tooFew = await GrowAsync(client, "t", 3, assignments: [[1]]);
        var otherBroker = await GrowAsync(client, "t", 2, assignments: [[3]]);
        var twoReplicas = await GrowAsync(client, "t", 2, assignments: [[1, 1]]);
        var good = await GrowAsync(client, "t", 3, assignments: [[1], [1]]);

        Assert.Equal((short)ErrorCode.InvalidReplicaAssignment, tooFew.ErrorCode);
        Assert.Equal("Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.", tooFew.ErrorMessage);
        Assert.Equal((short)ErrorCode.InvalidReplicaAssignment, otherBroker.ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidReplicaAssignment, twoReplicas.ErrorCode);
        Assert.Equal((short)ErrorCode.None, good.ErrorCode);
        await client.AssertPartitionCountAsync("t", 3);
    }

    [Fact]
    public async Task Validate_only_changes_nothing()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var result = await GrowAsync(client, "t", 5, validateOnly: true);

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        await client.AssertPartitionCountAsync("t", 1);
    }

    [Fact]
    public async Task Duplicate_topics_and_excessive_growth_are_rejected()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);
        await client.CreateTopicAsync("u", 1);

        var response = await client.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            Topics = [new() { Name = "t", Count = 2, Assignments = null }, new() { Name = "t", Count = 3, Assignments = null }, new() { Name = "u", Count = 20_000, Assignments = null }],
        }, 3);

        Assert.Equal(2, response.Results.Count);
        Assert.Equal(((short)ErrorCode.InvalidRequest, "Duplicate topic name."),
            (response.Results[0].ErrorCode, response.Results[0].ErrorMessage));
        Assert.Equal((short)ErrorCode.PolicyViolation, response.Results[1].ErrorCode);
        await client.AssertPartitionCountAsync("t", 1);
        await client.AssertPartitionCountAsync("u", 1);
    }
}
