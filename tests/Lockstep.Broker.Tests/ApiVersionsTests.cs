using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests;

/// <summary>
/// ApiVersions: the advertised list is the handler registry, features carry transaction.version, and a too-new
/// request version gets a v0 answer with UNSUPPORTED_VERSION so clients downgrade (KIP-511).
/// </summary>
public sealed class ApiVersionsTests
{
    [Fact]
    public async Task ApiVersions_v3_lists_itself_and_finalized_transaction_version()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var response = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" }, 3);

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        var self = Assert.Single(response.ApiKeys, k => k.ApiKey == (short)ApiKey.ApiVersions);
        Assert.Equal(0, self.MinVersion);
        Assert.Equal(4, self.MaxVersion);
        var feature = Assert.Single(response.FinalizedFeatures);
        Assert.Equal("transaction.version", feature.Name);
        Assert.Equal(2, feature.MaxVersionLevel);
    }

    [Fact]
    public async Task ApiVersions_above_max_answers_v0_with_unsupported_version_and_the_list()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var correlation = await client.WriteAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 5);
        var response = await client.ReadResponseAsync<ApiVersionsResponse>(ApiKey.ApiVersions, 0, correlation);

        Assert.Equal((short)ErrorCode.UnsupportedVersion, response.ErrorCode);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == (short)ApiKey.ApiVersions && k.MaxVersion == 4);
    }

    [Fact]
    public async Task Transaction_version_setting_lowers_the_finalized_level()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["transaction.version"] = "1" });
        await using var client = await harness.ConnectAsync();
        var response = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 4);
        Assert.Equal(1, Assert.Single(response.FinalizedFeatures).MaxVersionLevel);
    }
}
