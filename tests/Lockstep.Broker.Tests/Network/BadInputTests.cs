using System.Buffers;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Transport;

namespace Lockstep.Broker.Tests.Network;

/// <summary>
/// Goal: malformed input on one connection (issue 3 "Bad input": truncated frames, wrong sizes, unknown API keys and
/// versions, garbage bytes) closes that connection and nothing else, and never makes the broker allocate what the
/// bytes do not justify. Method: raw bytes through the in-memory harness. In each test a second, healthy connection
/// is opened BEFORE the bad one and must still answer ApiVersions after the bad one was closed; the broker's own
/// connection gauge shows the broker ended the bad session. Kafka's SocketServer behaves the same way: a request
/// it cannot parse (InvalidRequestException) or an oversized frame (InvalidReceiveException) closes the channel.
/// </summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task Truncated_frame_then_close_ends_only_that_session()
    {
        await using var harness = await BrokerHarness.StartAsync();
        using var gauge = new ConnectionGauge(harness.Broker);
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");
        Assert.True(await gauge.WaitForAsync(2));

        // A 100-byte frame of which only the prefix and 10 bytes arrive before the client goes away.
        await bad.WriteRawAsync([.. RawKafkaClient.SizePrefix(100), .. new byte[10]]);
        await bad.Connection.Output.CompleteAsync();

        Assert.True(await gauge.WaitForAsync(1), $"the broker still counts {gauge.Open} open sessions");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(104_857_601)] // socket.request.max.bytes (100 MiB) + 1
    public async Task Size_prefix_above_socket_request_max_bytes_closes_before_the_body_arrives(int size)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);

        // Only the 4-byte prefix is sent: the broker must reject the size itself rather than wait for (or reserve
        // room for) a body that large.
        Assert.True(await SendBadAsync(bad, RawKafkaClient.SizePrefix(size)), "the broker kept the connection open");

        // All threads' allocations, so parallel tests add noise: the bound only catches a buffer the size of the
        // frame (>= 100 MiB), which is what an unchecked prefix would cost.
        Assert.InRange(GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore, 0, 64L << 20);
        await AssertServesApiVersionsAsync(healthy);
    }

    [Fact]
    public async Task Size_prefix_above_a_lowered_socket_request_max_bytes_closes_the_connection()
    {
        await using var harness = await BrokerHarness.StartAsync(
            new Dictionary<string, string> { ["socket.request.max.bytes"] = "4096" });
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");

        Assert.True(await SendBadAsync(bad, RawKafkaClient.SizePrefix(4097)), "the broker kept the connection open");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task Negative_size_prefix_closes_the_connection(int size)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");

        Assert.True(await SendBadAsync(bad, RawKafkaClient.SizePrefix(size)), "the broker kept the connection open");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Frame_too_short_for_a_request_header_closes_the_connection(int length)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");

        Assert.True(await SendBadAsync(bad, [.. RawKafkaClient.SizePrefix(length), .. new byte[length]]), "the broker kept the connection open");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Theory]
    [InlineData((short)9999)]
    [InlineData((short)-1)]
    [InlineData(short.MaxValue)]
    public async Task Unknown_api_key_closes_the_connection(short apiKey)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");

        Assert.True(await SendBadAsync(bad, Frame(RequestHeaderV1(apiKey, 0, correlationId: 7))), "the broker kept the connection open");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Fact]
    public async Task Unsupported_version_of_a_known_api_closes_the_connection()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");

        // Metadata v999: a known key at a version no broker serves. (ApiVersions alone answers a too-new version,
        // KIP-511; ApiVersionsTests covers that.)
        Assert.True(await SendBadAsync(bad, Frame(RequestHeaderV1((short)ApiKey.Metadata, 999, correlationId: 7))), "the broker kept the connection open");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })] // varint longer than 5 bytes
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })] // compact string length far beyond the frame
    [InlineData(new byte[] { 0x05, 0x61 })] // compact string of 4 bytes, only 1 present
    public async Task Garbage_body_after_a_valid_header_closes_the_connection(byte[] body)
    {
        await using var harness = await BrokerHarness.StartAsync();
        using var gauge = new ConnectionGauge(harness.Broker);
        await using var healthy = await harness.ConnectAsync("healthy");
        await using var bad = await harness.ConnectAsync("bad");

        // ApiVersions v3 is flexible: its body starts with the compact string ClientSoftwareName, which is where the
        // garbage lands. The header itself (v2) is well formed.
        Assert.True(await SendBadAsync(bad, Frame([.. RequestHeaderV2((short)ApiKey.ApiVersions, 3, correlationId: 7), .. body])), "the broker kept the connection open (or answered garbage)");
        Assert.True(await gauge.WaitForAsync(1), $"the broker still counts {gauge.Open} open sessions");
        await AssertServesApiVersionsAsync(healthy);
    }

    [Fact]
    public async Task A_connection_that_served_requests_is_closed_by_its_first_bad_frame()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await AssertServesApiVersionsAsync(client);

        // Responses still queued when a bad frame arrives are discarded with the connection, as Kafka's SocketServer
        // does (it closes the channel on InvalidReceiveException); so the good request is answered first here.
        Assert.True(await SendBadAsync(client, RawKafkaClient.SizePrefix(-5)), "the broker kept the connection open");
    }

    private static async Task AssertServesApiVersionsAsync(RawKafkaClient client)
    {
        var response = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "healthy", ClientSoftwareVersion = "1" }, 3);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == (short)ApiKey.ApiVersions);
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> and waits for the broker to close the connection. The broker may close it
    /// before this side's flush returns, which the transport reports as <see cref="ConnectionClosedException"/>:
    /// that is the expected outcome too, not a test failure.
    /// </summary>
    private static async Task<bool> SendBadAsync(RawKafkaClient client, byte[] bytes)
    {
        try
        {
            await client.WriteRawAsync(bytes);
        }
        catch (ConnectionClosedException)
        {
            return true;
        }

        return await client.WaitForCloseAsync();
    }

    private static byte[] Frame(byte[] payload) => [.. RawKafkaClient.SizePrefix(payload.Length), .. payload];

    /// <summary>Request header v1 (non-flexible): key, version, correlation id, nullable string client id.</summary>
    private static byte[] RequestHeaderV1(short apiKey, short apiVersion, int correlationId) =>
        EncodeHeader(apiKey, apiVersion, correlationId, headerVersion: 1);

    /// <summary>Request header v2 (flexible): v1 plus an empty tagged-field section.</summary>
    private static byte[] RequestHeaderV2(short apiKey, short apiVersion, int correlationId) =>
        EncodeHeader(apiKey, apiVersion, correlationId, headerVersion: 2);

    private static byte[] EncodeHeader(short apiKey, short apiVersion, int correlationId, short headerVersion)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        new RequestHeader
        {
            RequestApiKey = apiKey,
            RequestApiVersion = apiVersion,
            CorrelationId = correlationId,
            ClientId = "bad",
        }.Write(ref writer, headerVersion);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
