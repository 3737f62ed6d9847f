using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>IncrementalAlterConfigs and the legacy AlterConfigs on topics; broker resources are refused.</summary>
public sealed class AlterConfigsTests
{
    private const sbyte Set = 0;
    private const sbyte Delete = 1;
    private const sbyte Append = 2;
    private const sbyte Subtract = 3;

    [Theory]
    [InlineData("retention.ms", Set, "forever", "Invalid value 'forever' for topic config 'retention.ms'")]
    [InlineData("unknown.config", Set, "1", "Unknown or unsupported topic config 'unknown.config'")]
    [InlineData("retention.ms", Set, null, "Null value not supported")]
    [InlineData("retention.ms", Append, "1", "Can't APPEND to key retention.ms because its type is not LIST.")]
    [InlineData("retention.bytes", Subtract, "1", "Can't SUBTRACT to key retention.bytes because its type is not LIST.")]
    [InlineData("cleanup.policy", Subtract, "delete", "only 'delete' is supported")]
    [InlineData("cleanup.policy", Append, "compact", "only 'delete' is supported")]
    public async Task Invalid_changes_are_invalid_config_and_change_nothing(string name, sbyte op, string? value, string messagePart)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1, ("retention.ms", "1000"));

        var result = await client.AlterTopicAsync("t", false, ("segment.ms", Set, "5000"), (name, op, value));

        Assert.Equal((short)ErrorCode.InvalidConfig, result.ErrorCode);
        Assert.Contains(messagePart, result.ErrorMessage, StringComparison.Ordinal);
        var configs = await client.DescribeTopicAsync("t");
        Assert.Equal("1000", configs.Config("retention.ms").Value);
        Assert.Equal((sbyte)5, configs.Config("segment.ms").ConfigSource); // the valid op in the same resource was not applied
    }

    [Fact]
    public async Task Append_to_the_list_config_keeps_its_elements_unique()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var result = await client.AlterTopicAsync("t", false, ("cleanup.policy", Append, "delete"));

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        var configs = await client.DescribeTopicAsync("t");
        Assert.Equal(("delete", (sbyte)1), (configs.Config("cleanup.policy").Value, configs.Config("cleanup.policy").ConfigSource));
    }

    [Fact]
    public async Task Unknown_topic_duplicates_and_unknown_operations_are_rejected()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var missing = await client.AlterTopicAsync("missing", false, ("retention.ms", Set, "1"));
        var duplicateKey = await client.AlterTopicAsync("t", false, ("retention.ms", Set, "1"), ("retention.ms", Delete, null));
        var badOp = await client.AlterTopicAsync("t", false, ("retention.ms", 9, "1"));
        var response = await client.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "t" },
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "t" },
                new() { ResourceType = 99, ResourceName = "x" },
            ],
        }, 0);

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, missing.ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, duplicateKey.ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, badOp.ErrorCode);
        Assert.Equal(2, response.Responses.Count);
        Assert.Equal(((short)ErrorCode.InvalidRequest, "Duplicate resource."), (response.Responses[0].ErrorCode, response.Responses[0].ErrorMessage));
        Assert.Equal(((short)ErrorCode.UnsupportedVersion, "Unknown resource type 99."), (response.Responses[1].ErrorCode, response.Responses[1].ErrorMessage));
    }

    [Fact]
    public async Task Broker_resources_are_refused_because_dynamic_broker_configs_are_unsupported()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var incremental = await client.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources = [new() { ResourceType = AdminCalls.BrokerResource, ResourceName = "1", Configs = [new() { Name = "num.partitions", ConfigOperation = Set, Value = "3" }] }],
        }, 1);
        var legacy = await client.SendAsync<AlterConfigsRequest, AlterConfigsResponse>(new AlterConfigsRequest
        {
            Resources = [new() { ResourceType = AdminCalls.BrokerResource, ResourceName = "", Configs = [new() { Name = "num.partitions", Value = "3" }] }],
        }, 0);

        foreach (var (code, message) in new[] { (incremental.Responses[0].ErrorCode, incremental.Responses[0].ErrorMessage), (legacy.Responses[0].ErrorCode, legacy.Responses[0].ErrorMessage) })
        {
            Assert.Equal((short)ErrorCode.InvalidRequest, code);
            Assert.Contains("does not support dynamic broker configs", message, StringComparison.Ordinal);
        }

        Assert.Equal("1", harness.Broker.Config.EffectiveValues.Single(kv => kv.Key == "num.partitions").Value);
    }

    [Fact]
    public async Task Validate_only_checks_but_does_not_apply()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var ok = await client.AlterTopicAsync("t", true, ("retention.ms", Set, "1000"));
        var bad = await client.AlterTopicAsync("t", true, ("retention.ms", Set, "x"));

        Assert.Equal((short)ErrorCode.None, ok.ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidConfig, bad.ErrorCode);
        Assert.Equal((sbyte)5, (await client.DescribeTopicAsync("t")).Config("retention.ms").ConfigSource);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Legacy_alter_configs_replaces_the_whole_override_set(short version)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1, ("retention.ms", "1000"), ("segment.ms", "2000"));

        var response = await client.SendAsync<AlterConfigsRequest, AlterConfigsResponse>(new AlterConfigsRequest
        {
            Resources = [new() { ResourceType = AdminCalls.TopicResource, ResourceName = "t", Configs = [new() { Name = "retention.bytes", Value = "10000000" }] }],
        }, version);

        var result = Assert.Single(response.Responses);
        Assert.Equal(((short)ErrorCode.None, "t"), (result.ErrorCode, result.ResourceName));
        var configs = await client.DescribeTopicAsync("t");
        Assert.Equal(("10000000", (sbyte)1), (configs.Config("retention.bytes").Value, configs.Config("retention.bytes").ConfigSource));
        Assert.Equal((sbyte)5, configs.Config("retention.ms").ConfigSource);
        Assert.Equal((sbyte)5, configs.Config("segment.ms").ConfigSource);
    }

    [Fact]
    public async Task Legacy_alter_configs_rejects_invalid_values_and_unknown_topics()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1, ("retention.ms", "1000"));

        var response = await client.SendAsync<AlterConfigsRequest, AlterConfigsResponse>(new AlterConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "t", Configs = [new() { Name = "segment.bytes", Value = "12" }] },
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "missing", Configs = [] },
            ],
        }, 1);

        Assert.Equal((short)ErrorCode.InvalidConfig, response.Responses[0].ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Responses[1].ErrorCode);
        Assert.Equal("1000", (await client.DescribeTopicAsync("t")).Config("retention.ms").Value);
    }

    [Fact]
    public async Task Altered_configs_survive_a_restart()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using (var client = await harness.ConnectAsync())
        {
            await client.CreateTopicAsync("t", 2, ("segment.ms", "2000"));
            Assert.Equal((short)ErrorCode.None,
                (await client.AlterTopicAsync("t", false, ("retention.ms", Set, "7777"), ("segment.ms", Delete, null))).ErrorCode);
        }

        await harness.RestartAsync();

        await using var after = await harness.ConnectAsync();
        var configs = await after.DescribeTopicAsync("t");
        Assert.Equal(("7777", (sbyte)1), (configs.Config("retention.ms").Value, configs.Config("retention.ms").ConfigSource));
        Assert.Equal((sbyte)5, configs.Config("segment.ms").ConfigSource);
        await after.AssertPartitionCountAsync("t", 2);
    }
}
