using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>DescribeCluster: this node as broker and controller, authorized operations, v1 endpoint types.</summary>
public sealed class DescribeClusterTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Describes_this_node_as_the_only_broker_and_the_controller(short version)
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["node.id"] = "3" });
        await using var client = await harness.ConnectAsync();

        var response = await client.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest(), version);

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.False(string.IsNullOrEmpty(response.ClusterId));
        Assert.Equal(3, response.ControllerId);
        var broker = Assert.Single(response.Brokers);
        Assert.Equal((3, harness.Broker.AdvertisedHost, harness.Broker.AdvertisedPort, (string?)null), (broker.BrokerId, broker.Host, broker.Port, broker.Rack));
        Assert.Equal(int.MinValue, response.ClusterAuthorizedOperations);
    }

    [Fact]
    public async Task Cluster_id_is_stable_across_restarts()
    {
        await using var harness = await BrokerHarness.StartAsync();
        string before;
        await using (var client = await harness.ConnectAsync())
        {
            before = (await client.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest(), 1)).ClusterId;
        }

        await harness.RestartAsync();

        await using var after = await harness.ConnectAsync();
        Assert.Equal(before, (await after.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest(), 1)).ClusterId);
    }

    [Fact]
    public async Task Authorized_operations_are_every_cluster_operation_when_requested()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var response = await client.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(
            new DescribeClusterRequest { IncludeClusterAuthorizedOperations = true }, 0);

        // CREATE(5) ALTER(7) DESCRIBE(8) CLUSTER_ACTION(9) DESCRIBE_CONFIGS(10) ALTER_CONFIGS(11) IDEMPOTENT_WRITE(12)
        Assert.Equal(0b1_1111_1010_0000, response.ClusterAuthorizedOperations);
    }

    [Theory]
    [InlineData(2, ErrorCode.MismatchedEndpointType)]
    [InlineData(9, ErrorCode.UnsupportedEndpointType)]
    public async Task V1_other_endpoint_types_are_errors(sbyte endpointType, ErrorCode expected)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var response = await client.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(
            new DescribeClusterRequest { EndpointType = endpointType }, 1);

        Assert.Equal((short)expected, response.ErrorCode);
        Assert.NotNull(response.ErrorMessage);
        Assert.Empty(response.Brokers);
    }
}
