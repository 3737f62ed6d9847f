using Lockstep.Client.Tests.Harness;
using Lockstep.Protocol.Messages;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: the client sends each API at the highest version both sides support and never one the broker did not
/// advertise (issue 5 item 1). Method: connect to the embedded broker — whose ApiVersions max (4) is below ours (5),
/// which exercises the KIP-511 UNSUPPORTED_VERSION fallback on every connect — and read the negotiated versions with
/// 2PC on and off (the broker advertises InitProducerId v6 only with transaction.two.phase.commit.enable=true).
/// </summary>
public sealed class NegotiationTests
{
    [Fact]
    public async Task Negotiation_picks_highest_common_version_and_falls_back_from_ApiVersions_v5()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var client = broker.RawClient();

        // The handshake survived ApiVersions v5 → UNSUPPORTED_VERSION → v4, then Metadata works.
        var metadata = await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, cancellationToken: Ct);
        Assert.Single(metadata.Brokers);

        // Our generated range is 0-6 with v6 unstable: by default we stop at 5 even when the broker offers 6.
        Assert.Equal(5, await client.GetNegotiatedVersionAsync<InitProducerIdRequest, InitProducerIdResponse>(cancellationToken: Ct));
        Assert.Equal(6, await client.GetNegotiatedVersionAsync<InitProducerIdRequest, InitProducerIdResponse>(maxVersion: 6, cancellationToken: Ct));

        // Fetch: we know up to 18, the embedded broker serves 4-12 → 12 (the broker's max, not ours); a lower cap
        // from the caller wins.
        Assert.True(FetchRequest.HighestSupportedVersion > 12);
        Assert.Equal(12, await client.GetNegotiatedVersionAsync<FetchRequest, FetchResponse>(cancellationToken: Ct));
        Assert.Equal(8, await client.GetNegotiatedVersionAsync<FetchRequest, FetchResponse>(maxVersion: 8, cancellationToken: Ct));
    }

    [Fact]
    public async Task Negotiation_never_exceeds_what_the_broker_advertises()
    {
        await using var broker = await ClientTestBroker.StartAsync(
            new Dictionary<string, string> { ["transaction.two.phase.commit.enable"] = "false" });
        await using var client = broker.RawClient();

        // Asking for v6 explicitly still yields 5: the broker hides v6 when 2PC is off.
        Assert.Equal(5, await client.GetNegotiatedVersionAsync<InitProducerIdRequest, InitProducerIdResponse>(maxVersion: 6, cancellationToken: Ct));
    }

    [Fact]
    public async Task Request_below_the_broker_minimum_fails_before_sending()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var client = broker.RawClient();

        // Fetch starts at v4 on the broker; forcing max v3 leaves no common version.
        var ex = await Assert.ThrowsAsync<BrokerCapabilityException>(() =>
            client.GetNegotiatedVersionAsync<FetchRequest, FetchResponse>(maxVersion: 3, cancellationToken: Ct));
        Assert.Contains("Fetch", ex.Message, StringComparison.Ordinal);
    }
}
