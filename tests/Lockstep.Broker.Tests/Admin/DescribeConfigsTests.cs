using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>DescribeConfigs for topics and the broker: every config, sources, synonyms, documentation, errors.</summary>
public sealed class DescribeConfigsTests
{
    private const sbyte TopicConfig = 1;
    private const sbyte StaticBrokerConfig = 4;
    private const sbyte DefaultConfig = 5;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Topic_describes_every_supported_config_with_defaults(short version)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var result = await client.DescribeTopicAsync("t", version);

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal(("t", AdminCalls.TopicResource), (result.ResourceName, result.ResourceType));
        Assert.Equal(11, result.Configs.Count);
        Assert.All(result.Configs, c =>
        {
            Assert.Equal(DefaultConfig, c.ConfigSource);
            Assert.False(c.IsSensitive);
            Assert.False(c.ReadOnly);
            Assert.NotNull(c.Value);
            Assert.Empty(c.Synonyms);
        });
        Assert.Equal("604800000", result.Config("retention.ms").Value);
        Assert.Equal("delete", result.Config("cleanup.policy").Value);
        Assert.Equal("1048588", result.Config("max.message.bytes").Value);
    }

    [Fact]
    public async Task Sources_follow_incremental_set_and_delete()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["log.segment.bytes"] = "2097152" });
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var set = await client.AlterTopicAsync("t", false, ("retention.ms", 0, "3600000"), ("segment.bytes", 0, "1048576"));
        Assert.Equal((short)ErrorCode.None, set.ErrorCode);
        var afterSet = await client.DescribeTopicAsync("t");
        Assert.Equal(("3600000", TopicConfig), (afterSet.Config("retention.ms").Value, afterSet.Config("retention.ms").ConfigSource));
        Assert.Equal(("1048576", TopicConfig), (afterSet.Config("segment.bytes").Value, afterSet.Config("segment.bytes").ConfigSource));
        Assert.Equal(DefaultConfig, afterSet.Config("retention.bytes").ConfigSource);
        Assert.Equal(11, afterSet.Configs.Count);

        var delete = await client.AlterTopicAsync("t", false, ("segment.bytes", 1, null), ("retention.ms", 1, null));
        Assert.Equal((short)ErrorCode.None, delete.ErrorCode);
        var afterDelete = await client.DescribeTopicAsync("t");
        Assert.Equal(("604800000", DefaultConfig), (afterDelete.Config("retention.ms").Value, afterDelete.Config("retention.ms").ConfigSource));
        // Back to the broker's explicit setting, not Kafka's default.
        Assert.Equal(("2097152", StaticBrokerConfig), (afterDelete.Config("segment.bytes").Value, afterDelete.Config("segment.bytes").ConfigSource));
    }

    [Fact]
    public async Task Synonyms_list_the_override_then_the_broker_setting_then_the_default()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["log.retention.ms"] = "86400000" });
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1, ("retention.ms", "1000"));

        var result = await client.DescribeTopicAsync("t", 4, keys: ["retention.ms", "cleanup.policy", "not.a.config"], synonyms: true);

        Assert.Equal(["cleanup.policy", "retention.ms"], result.Configs.Select(c => c.Name));
        Assert.Equal(
            [("retention.ms", "1000", TopicConfig), ("log.retention.ms", "86400000", StaticBrokerConfig), ("log.retention.ms", "604800000", DefaultConfig)],
            result.Config("retention.ms").Synonyms.Select(s => (s.Name, s.Value, s.Source)));
        Assert.Equal([("cleanup.policy", "delete", DefaultConfig)],
            result.Config("cleanup.policy").Synonyms.Select(s => (s.Name, s.Value, s.Source)));
    }

    [Fact]
    public async Task Documentation_and_types_from_v3()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var withDocs = await client.DescribeTopicAsync("t", 3, documentation: true);
        var withoutDocs = await client.DescribeTopicAsync("t", 3);

        Assert.All(withDocs.Configs, c => Assert.False(string.IsNullOrEmpty(c.Documentation)));
        Assert.All(withoutDocs.Configs, c => Assert.Null(c.Documentation));
        Assert.Equal(5, withDocs.Config("retention.ms").ConfigType); // LONG
        Assert.Equal(7, withDocs.Config("cleanup.policy").ConfigType); // LIST
        Assert.Equal(1, withDocs.Config("unclean.leader.election.enable").ConfigType); // BOOLEAN
    }

    [Fact]
    public async Task Errors_are_per_resource()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.CreateTopicAsync("t", 1);

        var response = await client.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "missing", ConfigurationKeys = null },
                new() { ResourceType = 99, ResourceName = "x", ConfigurationKeys = null },
                new() { ResourceType = 32, ResourceName = "group", ConfigurationKeys = null },
                new() { ResourceType = AdminCalls.BrokerResource, ResourceName = "7", ConfigurationKeys = null },
                new() { ResourceType = AdminCalls.BrokerResource, ResourceName = "abc", ConfigurationKeys = null },
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "bad/name", ConfigurationKeys = null },
                new() { ResourceType = AdminCalls.TopicResource, ResourceName = "t", ConfigurationKeys = null },
            ],
        }, 4);

        Assert.Equal(
            [ErrorCode.UnknownTopicOrPartition, ErrorCode.InvalidRequest, ErrorCode.InvalidRequest, ErrorCode.InvalidRequest,
             ErrorCode.InvalidRequest, ErrorCode.InvalidTopicException, ErrorCode.None],
            response.Results.Select(r => (ErrorCode)r.ErrorCode));
        Assert.All(response.Results.Take(6), r => Assert.Empty(r.Configs));
        Assert.Equal("Unexpected broker id, expected 1 or empty string, but received 7", response.Results[3].ErrorMessage);
        Assert.Equal(11, response.Results[6].Configs.Count);
    }

    [Fact]
    public async Task Broker_resource_lists_every_setting_read_only_with_its_source()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["num.partitions"] = "6" });
        await using var client = await harness.ConnectAsync();

        var response = await client.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = AdminCalls.BrokerResource, ResourceName = "1", ConfigurationKeys = null },
                new() { ResourceType = AdminCalls.BrokerResource, ResourceName = "", ConfigurationKeys = null },
            ],
            IncludeSynonyms = true,
        }, 2);

        var node = response.Results[0];
        Assert.Equal((short)ErrorCode.None, node.ErrorCode);
        var expectedNames = harness.Broker.Config.EffectiveValues.Select(kv => kv.Key).ToList();
        Assert.Equal(expectedNames, node.Configs.Select(c => c.Name));
        Assert.All(node.Configs, c => Assert.True(c.ReadOnly));
        var partitions = node.Config("num.partitions");
        Assert.Equal(("6", StaticBrokerConfig), (partitions.Value, partitions.ConfigSource));
        Assert.Equal([("num.partitions", "6", StaticBrokerConfig), ("num.partitions", "1", DefaultConfig)],
            partitions.Synonyms.Select(s => (s.Name, s.Value, s.Source)));
        Assert.Equal(("1048588", DefaultConfig), (node.Config("message.max.bytes").Value, node.Config("message.max.bytes").ConfigSource));

        var clusterDefaults = response.Results[1];
        Assert.Equal((short)ErrorCode.None, clusterDefaults.ErrorCode);
        Assert.Empty(clusterDefaults.Configs); // no dynamic cluster-wide defaults exist
    }
}
