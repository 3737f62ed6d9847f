using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>CreateTopics: Kafka's validation order and errors, v5+/v7 result fields, validateOnly, persistence.</summary>
public sealed class CreateTopicsTests
{
    [Fact]
    public async Task V7_returns_id_partitions_replication_factor_and_every_config_with_its_source()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string>
        {
            ["num.partitions"] = "3",
            ["log.retention.bytes"] = "5000000",
        });
        await using var client = await harness.ConnectAsync();

        var response = await client.CreateTopicsAsync(7, false, AdminCalls.Topic("orders", -1, -1, ("retention.ms", "60000")));

        var result = Assert.Single(response.Topics);
        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Null(result.ErrorMessage);
        Assert.NotEqual(Guid.Empty, result.TopicId);
        Assert.Equal(3, result.NumPartitions);
        Assert.Equal(1, result.ReplicationFactor);
        Assert.NotNull(result.Configs);
        Assert.Equal(
            ["cleanup.policy", "compression.type", "index.interval.bytes", "max.message.bytes", "message.timestamp.type",
             "min.insync.replicas", "retention.bytes", "retention.ms", "segment.bytes", "segment.ms", "unclean.leader.election.enable"],
            result.Configs.Select(c => c.Name));
        var retentionMs = Assert.Single(result.Configs, c => c.Name == "retention.ms");
        Assert.Equal(("60000", (sbyte)1), (retentionMs.Value, retentionMs.ConfigSource)); // TOPIC_CONFIG
        var retentionBytes = Assert.Single(result.Configs, c => c.Name == "retention.bytes");
        Assert.Equal(("5000000", (sbyte)4), (retentionBytes.Value, retentionBytes.ConfigSource)); // STATIC_BROKER_CONFIG
        var segmentBytes = Assert.Single(result.Configs, c => c.Name == "segment.bytes");
        Assert.Equal(("1073741824", (sbyte)5), (segmentBytes.Value, segmentBytes.ConfigSource)); // DEFAULT_CONFIG
        Assert.All(result.Configs, c => Assert.False(c.IsSensitive));
        await client.AssertPartitionCountAsync("orders", 3);
    }

    [Fact]
    public async Task V4_results_omit_the_v5_fields()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var result = Assert.Single((await client.CreateTopicsAsync(4, false, AdminCalls.Topic("old", 2, 1))).Topics);

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal(-1, result.NumPartitions); // not on the wire below v5: the decoder's default
        Assert.Empty(result.Configs!);
        await client.AssertPartitionCountAsync("old", 2);
    }

    [Fact]
    public async Task Existing_topic_is_topic_already_exists_even_with_an_impossible_replication_factor()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, AdminCalls.Topic("t", 4, 3))).Topics);

        Assert.Equal((short)ErrorCode.TopicAlreadyExists, result.ErrorCode);
        Assert.Equal("Topic 't' already exists.", result.ErrorMessage);
        Assert.Equal(Guid.Empty, result.TopicId);
        await client.AssertPartitionCountAsync("t", 1);
    }

    [Theory]
    [InlineData(1, 3, ErrorCode.InvalidReplicationFactor, "single node")]
    [InlineData(1, 0, ErrorCode.InvalidReplicationFactor, "larger than 0")]
    [InlineData(1, -2, ErrorCode.InvalidReplicationFactor, "larger than 0")]
    [InlineData(0, 1, ErrorCode.InvalidPartitions, "non-positive")]
    [InlineData(-5, -1, ErrorCode.InvalidPartitions, "non-positive")]
    public async Task Invalid_shapes_are_rejected_with_a_message(int partitions, short replicationFactor, ErrorCode expected, string messagePart)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, AdminCalls.Topic("t", partitions, replicationFactor))).Topics);

        Assert.Equal((short)expected, result.ErrorCode);
        Assert.Contains(messagePart, result.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(-1, result.NumPartitions);
        var retry = Assert.Single((await client.CreateTopicsAsync(7, false, AdminCalls.Topic("t", 1, 1))).Topics);
        Assert.Equal((short)ErrorCode.None, retry.ErrorCode); // nothing was created by the failed attempt
    }

    [Fact]
    public async Task Manual_assignment_to_this_node_creates_the_partitions()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var topic = AdminCalls.Topic("assigned");
        topic.Assignments = [new() { PartitionIndex = 1, BrokerIds = [1] }, new() { PartitionIndex = 0, BrokerIds = [1] }];

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, topic)).Topics);

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal(2, result.NumPartitions);
        Assert.Equal(1, result.ReplicationFactor);
        await client.AssertPartitionCountAsync("assigned", 2);
    }

    public static TheoryData<int, short, int[][], ErrorCode, string> BadAssignments => new()
    {
        { -1, -1, [[2]], ErrorCode.InvalidReplicaAssignment, "includes broker 2, but no such broker is registered" },
        { -1, -1, [[1, 2]], ErrorCode.InvalidReplicaAssignment, "includes broker 2" },
        { -1, -1, [[1, 1]], ErrorCode.InvalidReplicaAssignment, "includes the broker 1 more than once" },
        { -1, -1, [[]], ErrorCode.InvalidReplicaAssignment, "empty replica list" },
        { 1, -1, [[1]], ErrorCode.InvalidRequest, "numPartitions was not set to -1" },
        { -1, 1, [[1]], ErrorCode.InvalidRequest, "replication factor was not set to -1" },
    };

    [Theory]
    [MemberData(nameof(BadAssignments))]
    public async Task Bad_manual_assignments_are_rejected(int partitions, short replicationFactor, int[][] replicas, ErrorCode expected, string messagePart)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var topic = AdminCalls.Topic("t", partitions, replicationFactor);
        topic.Assignments = replicas.Select((ids, i) => new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = i, BrokerIds = ids.ToList() }).ToList();

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, topic)).Topics);

        Assert.Equal((short)expected, result.ErrorCode);
        Assert.Contains(messagePart, result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_consecutive_or_repeated_partition_indexes_are_invalid_replica_assignment()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var gap = AdminCalls.Topic("gap");
        gap.Assignments = [new() { PartitionIndex = 0, BrokerIds = [1] }, new() { PartitionIndex = 2, BrokerIds = [1] }];
        var repeated = AdminCalls.Topic("repeated");
        repeated.Assignments = [new() { PartitionIndex = 0, BrokerIds = [1] }, new() { PartitionIndex = 0, BrokerIds = [1] }];

        var response = await client.CreateTopicsAsync(7, false, gap, repeated);

        Assert.Equal((short)ErrorCode.InvalidReplicaAssignment, response.Topics.Single(t => t.Name == "gap").ErrorCode);
        Assert.Equal("partitions should be a consecutive 0-based integer sequence", response.Topics.Single(t => t.Name == "gap").ErrorMessage);
        Assert.Equal((short)ErrorCode.InvalidReplicaAssignment, response.Topics.Single(t => t.Name == "repeated").ErrorCode);
    }

    [Theory]
    [InlineData("cleanup.policy", "compact", "only 'delete' is supported")]
    [InlineData("retention.ms", "soon", "Invalid value 'soon' for topic config 'retention.ms'")]
    [InlineData("segment.bytes", "10", "must be an integer >= 1024")]
    [InlineData("no.such.config", "1", "Unknown or unsupported topic config 'no.such.config'")]
    [InlineData("retention.ms", null, "Null value not supported for topic configs: retention.ms")]
    public async Task Invalid_configs_are_invalid_config_with_a_message(string name, string? value, string messagePart)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, AdminCalls.Topic("t", 1, 1, (name, value)))).Topics);

        Assert.Equal((short)ErrorCode.InvalidConfig, result.ErrorCode);
        Assert.Contains(messagePart, result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_only_reports_the_result_but_creates_nothing()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var dryRun = Assert.Single((await client.CreateTopicsAsync(7, true, AdminCalls.Topic("dry", 5, 1, ("retention.ms", "1000")))).Topics);

        Assert.Equal((short)ErrorCode.None, dryRun.ErrorCode);
        Assert.Equal(5, dryRun.NumPartitions);
        Assert.Equal("1000", Assert.Single(dryRun.Configs!, c => c.Name == "retention.ms").Value);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await client.DescribeTopicAsync("dry")).ErrorCode);
        await client.CreateTopicAsync("dry", 2);
    }

    [Fact]
    public async Task Duplicate_names_in_one_request_get_one_invalid_request_result_and_are_not_created()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var response = await client.CreateTopicsAsync(7, false, AdminCalls.Topic("dup", 1), AdminCalls.Topic("ok", 1), AdminCalls.Topic("dup", 2));

        Assert.Equal(2, response.Topics.Count);
        var dup = Assert.Single(response.Topics, t => t.Name == "dup");
        Assert.Equal((short)ErrorCode.InvalidRequest, dup.ErrorCode);
        Assert.Equal("Duplicate topic name.", dup.ErrorMessage);
        Assert.Equal((short)ErrorCode.None, Assert.Single(response.Topics, t => t.Name == "ok").ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await client.DescribeTopicAsync("dup")).ErrorCode);
    }

    [Fact]
    public async Task More_than_ten_thousand_partitions_in_one_request_is_a_policy_violation()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var response = await client.CreateTopicsAsync(7, false, AdminCalls.Topic("a", 6000), AdminCalls.Topic("b", 6000));

        Assert.All(response.Topics, t => Assert.Equal((short)ErrorCode.PolicyViolation, t.ErrorCode));
    }

    public static TheoryData<string, string> IllegalNames => new()
    {
        { "", "empty" },
        { ".", "cannot be '.'" },
        { "..", "cannot be '..'" },
        { new string('a', 250), "longer than 249" },
        { "has space", "contains ' '" },
        { "slash/name", "contains '/'" },
        { "ünicode", "contains 'ü'" },
        { "colon:name", "contains ':'" },
    };

    [Theory]
    [MemberData(nameof(IllegalNames))]
    public async Task Illegal_names_are_invalid_topic_exception(string name, string messagePart)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, AdminCalls.Topic(name, 1))).Topics);

        Assert.Equal((short)ErrorCode.InvalidTopicException, result.ErrorCode);
        Assert.Contains(messagePart, result.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("Under_score.dot-dash09")]
    [InlineData("...")]
    public async Task Legal_names_are_created(string name)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync(name, 1);
        await client.CreateTopicAsync(new string('x', 249), 1);
    }

    [Fact]
    public async Task Names_differing_only_by_dot_and_underscore_collide()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("metrics.cpu", 1);

        var result = Assert.Single((await client.CreateTopicsAsync(7, false, AdminCalls.Topic("metrics_cpu", 1))).Topics);

        Assert.Equal((short)ErrorCode.InvalidTopicException, result.ErrorCode);
        Assert.Equal("Topic 'metrics_cpu' collides with existing topic: metrics.cpu", result.ErrorMessage);
    }

    [Fact]
    public async Task Created_topics_with_their_ids_and_configs_survive_a_restart()
    {
        await using var harness = await BrokerHarness.StartAsync();
        Guid id;
        await using (var client = await harness.ConnectAsync())
        {
            id = (await client.CreateTopicAsync("durable", 4, ("retention.ms", "120000"))).TopicId;
        }

        await harness.RestartAsync();

        await using var after = await harness.ConnectAsync();
        await after.AssertPartitionCountAsync("durable", 4);
        var configs = await after.DescribeTopicAsync("durable");
        Assert.Equal(("120000", (sbyte)1), (configs.Config("retention.ms").Value, configs.Config("retention.ms").ConfigSource));
        var again = Assert.Single((await after.CreateTopicsAsync(7, false, AdminCalls.Topic("durable", 1))).Topics);
        Assert.Equal((short)ErrorCode.TopicAlreadyExists, again.ErrorCode);
        var delete = await after.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(
            new DeleteTopicsRequest { Topics = [new() { Name = null, TopicId = id }] }, 6);
        Assert.Equal((short)ErrorCode.None, Assert.Single(delete.Responses).ErrorCode); // the id was persisted too
    }
}
