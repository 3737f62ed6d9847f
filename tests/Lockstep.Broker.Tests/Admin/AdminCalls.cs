using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>Small typed wrappers over the admin APIs for the tests in this folder.</summary>
internal static class AdminCalls
{
    public const sbyte TopicResource = 2;
    public const sbyte BrokerResource = 4;

    public static CreateTopicsRequest.CreatableTopic Topic(
        string name, int partitions = -1, short replicationFactor = -1, params (string Name, string? Value)[] configs) => new()
    {
        Name = name,
        NumPartitions = partitions,
        ReplicationFactor = replicationFactor,
        Configs = configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Name, Value = c.Value }).ToList(),
    };

    public static Task<CreateTopicsResponse> CreateTopicsAsync(
        this RawKafkaClient client, short version, bool validateOnly, params CreateTopicsRequest.CreatableTopic[] topics) =>
        client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(
            new CreateTopicsRequest { Topics = topics.ToList(), validateOnly = validateOnly }, version);

    /// <summary>Creates one topic at v7 and asserts success.</summary>
    public static async Task<CreateTopicsResponse.CreatableTopicResult> CreateTopicAsync(
        this RawKafkaClient client, string name, int partitions = 1, params (string Name, string? Value)[] configs)
    {
        var response = await client.CreateTopicsAsync(7, false, Topic(name, partitions, -1, configs));
        var result = Assert.Single(response.Topics);
        Assert.True(result.ErrorCode == (short)ErrorCode.None, $"create {name}: {(ErrorCode)result.ErrorCode} {result.ErrorMessage}");
        return result;
    }

    public static async Task<DescribeConfigsResponse.DescribeConfigsResult> DescribeTopicAsync(
        this RawKafkaClient client, string topic, short version = 4, List<string>? keys = null, bool synonyms = false, bool documentation = false)
    {
        var response = await client.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new() { ResourceType = TopicResource, ResourceName = topic, ConfigurationKeys = keys }],
            IncludeSynonyms = synonyms,
            IncludeDocumentation = documentation,
        }, version);
        return Assert.Single(response.Results);
    }

    public static async Task<IncrementalAlterConfigsResponse.AlterConfigsResourceResponse> AlterTopicAsync(
        this RawKafkaClient client, string topic, bool validateOnly, params (string Name, sbyte Op, string? Value)[] ops)
    {
        var response = await client.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new()
                {
                    ResourceType = TopicResource,
                    ResourceName = topic,
                    Configs = ops.Select(o => new IncrementalAlterConfigsRequest.AlterableConfig { Name = o.Name, ConfigOperation = o.Op, Value = o.Value }).ToList(),
                },
            ],
            ValidateOnly = validateOnly,
        }, 1);
        return Assert.Single(response.Responses);
    }

    /// <summary>Asserts the partition count, observed through CreatePartitions' "already has N" answer (no Metadata needed).</summary>
    public static async Task AssertPartitionCountAsync(this RawKafkaClient client, string topic, int expected)
    {
        var response = await client.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            Topics = [new() { Name = topic, Count = expected, Assignments = null }],
            ValidateOnly = true,
        }, 3);
        var result = Assert.Single(response.Results);
        Assert.Equal((short)ErrorCode.InvalidPartitions, result.ErrorCode);
        Assert.Equal($"Topic already has {expected} partition(s).", result.ErrorMessage);
    }

    public static DescribeConfigsResponse.DescribeConfigsResourceResult Config(
        this DescribeConfigsResponse.DescribeConfigsResult result, string name) =>
        Assert.Single(result.Configs, c => c.Name == name);
}
