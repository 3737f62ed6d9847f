using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Tests.Network;

/// <summary>
/// Goal: Kafka's per-connection ordering contract (responses in request order, NetworkClient relies on it to match
/// correlation ids) holds when many requests arrive before any response is written. Method: write 50 ApiVersions
/// requests back to back without reading, at mixed versions so the responses differ in shape, then read 50
/// responses and check each correlation id and body in order. 50 is below BrokerSession.MaxInFlight (64); a second
/// test goes past it to exercise the read loop's back-pressure wait.
/// </summary>
public sealed class PipeliningTests
{
    [Theory]
    [InlineData(50)]
    [InlineData(200)] // > BrokerSession.MaxInFlight: the session must stop reading, then resume, without reordering.
    public async Task Back_to_back_requests_get_responses_in_request_order(int count)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        var sent = new List<(int CorrelationId, short Version)>();
        for (var i = 0; i < count; i++)
        {
            var version = (short)(i % 5); // 0-4: flexible and non-flexible encodings interleaved
            var request = new ApiVersionsRequest { ClientSoftwareName = "pipeline", ClientSoftwareVersion = i.ToString() };
            sent.Add((await client.WriteAsync<ApiVersionsRequest, ApiVersionsResponse>(request, version), version));
        }

        foreach (var (correlationId, version) in sent)
        {
            // ReadResponseAsync fails unless the next frame carries exactly this correlation id.
            var response = await client.ReadResponseAsync<ApiVersionsResponse>(ApiKey.ApiVersions, version, correlationId);
            Assert.Equal((short)ErrorCode.None, response.ErrorCode);
            Assert.Contains(response.ApiKeys, k => k.ApiKey == (short)ApiKey.ApiVersions);
        }
    }
}
