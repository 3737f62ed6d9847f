using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.DataPlane;

/// <summary>
/// Metadata: this node as the only broker and leader, auto-creation on request (and only then), Kafka's error codes
/// for illegal and unknown names, and the "all topics" forms of v0 and v1+. Driven through raw requests.
/// </summary>
public sealed class MetadataTests
{
    [Fact]
    public async Task Metadata_auto_creates_a_requested_topic_led_by_this_node()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["node.id"] = "7", ["num.partitions"] = "3" });
        await using var client = await harness.ConnectAsync();
        var response = await client.SendAsync<MetadataRequest, MetadataResponse>(
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "orders" }], AllowAutoTopicCreation = true }, 12);

        var broker = Assert.Single(response.Brokers);
        Assert.Equal(7, broker.NodeId);
        Assert.Null(broker.Rack);
        Assert.Equal(7, response.ControllerId);
        Assert.False(string.IsNullOrEmpty(response.ClusterId));
        var topic = Assert.Single(response.Topics);
        Assert.Equal((short)ErrorCode.None, topic.ErrorCode);
        Assert.NotEqual(Guid.Empty, topic.TopicId);
        Assert.Equal([0, 1, 2], topic.Partitions.Select(p => p.PartitionIndex));
        Assert.All(topic.Partitions, p =>
        {
            Assert.Equal(7, p.LeaderId);
            Assert.Equal(0, p.LeaderEpoch);
            Assert.Equal([7], p.ReplicaNodes);
            Assert.Equal([7], p.IsrNodes);
        });
    }

    [Fact]
    public async Task Metadata_without_auto_create_flag_reports_unknown_topic_and_creates_nothing()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var response = await client.SendAsync<MetadataRequest, MetadataResponse>(
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "nope" }], AllowAutoTopicCreation = false }, 12);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(response.Topics).ErrorCode);

        var all = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        Assert.Empty(all.Topics);
    }

    [Fact]
    public async Task Metadata_auto_create_disabled_by_broker_setting_reports_unknown_topic()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" });
        await using var client = await harness.ConnectAsync();
        var response = await client.SendAsync<MetadataRequest, MetadataResponse>(
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "nope" }] }, 1);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(response.Topics).ErrorCode);
    }

    [Fact]
    public async Task Metadata_illegal_topic_name_is_INVALID_TOPIC_EXCEPTION()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var response = await client.SendAsync<MetadataRequest, MetadataResponse>(
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "bad/name" }], AllowAutoTopicCreation = true }, 9);
        Assert.Equal((short)ErrorCode.InvalidTopicException, Assert.Single(response.Topics).ErrorCode);
    }

    [Fact]
    public async Task Metadata_null_topics_v1_and_empty_topics_v0_list_every_topic()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await DataPlaneTestKit.CreateTopicAsync(client, "a");
        await DataPlaneTestKit.CreateTopicAsync(client, "b");

        var v1 = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 1);
        Assert.Equal(["a", "b"], v1.Topics.Select(t => t.Name));
        var v0 = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, 0);
        Assert.Equal(["a", "b"], v0.Topics.Select(t => t.Name));
        var v1Empty = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, 1);
        Assert.Empty(v1Empty.Topics);
    }

    [Fact]
    public async Task Metadata_v12_looks_topics_up_by_id()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await DataPlaneTestKit.CreateTopicAsync(client, "by-id");
        var all = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        var id = Assert.Single(all.Topics).TopicId;

        var response = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest
        {
            Topics =
            [
                new MetadataRequest.MetadataRequestTopic { Name = null, TopicId = id },
                new MetadataRequest.MetadataRequestTopic { Name = null, TopicId = Guid.NewGuid() },
            ],
        }, 12);
        Assert.Equal("by-id", response.Topics[0].Name);
        Assert.Equal((short)ErrorCode.UnknownTopicId, response.Topics[1].ErrorCode);
    }
}
