using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Messages.Storage;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Tests.Messages;

/// <summary>
/// Kafka's version rules as the generated code must apply them (FieldSpec.java / MessageDataGenerator.java):
/// non-default values in versions that lack a field, ignorable fields, nullability on write and read, tagged fields,
/// unsupported versions, hostile array counts, and the header-version table.
/// </summary>
public sealed class VersionRulesTests
{
    [Fact]
    public void Non_default_non_ignorable_field_in_an_old_version_throws()
    {
        // InitProducerIdRequest.ProducerId exists from v3 and is not ignorable.
        var request = new InitProducerIdRequest { TransactionalId = "t", ProducerId = 42 };
        var ex = Assert.Throws<KafkaProtocolException>(() => MessageCodec.Encode(request, 2));
        Assert.Contains("non-default ProducerId at version 2", ex.Message, StringComparison.Ordinal);

        request.ProducerId = -1;
        Assert.NotEmpty(MessageCodec.Encode(request, 2));
    }

    [Fact]
    public void Ignorable_field_in_an_old_version_is_silently_dropped()
    {
        // EndTxnResponse.ProducerId is v5+ and ignorable (KIP-890 transactions V2).
        var response = new EndTxnResponse { ErrorCode = 0, ProducerId = 77, ProducerEpoch = 3 };
        var bytes = MessageCodec.Encode(response, 4);
        var decoded = MessageCodec.Decode<EndTxnResponse>(bytes, 4);
        Assert.Equal(-1L, decoded.ProducerId);
        Assert.Equal((short)-1, decoded.ProducerEpoch);
        Assert.Equal(77L, MessageCodec.Decode<EndTxnResponse>(MessageCodec.Encode(response, 5), 5).ProducerId);
    }

    [Fact]
    public void Null_where_the_version_is_not_nullable_throws_on_write()
    {
        // MetadataRequest.Topics is nullable from v1 only.
        var request = new MetadataRequest { Topics = null };
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Encode(request, 0));
        Assert.Null(MessageCodec.Decode<MetadataRequest>(MessageCodec.Encode(request, 1), 1).Topics);

        // FindCoordinatorRequest.Key is never nullable.
        var find = new FindCoordinatorRequest { Key = null! };
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Encode(find, 1));
    }

    [Fact]
    public void Null_where_the_version_is_not_nullable_is_rejected_on_read()
    {
        // MetadataRequest v0: Topics array count -1 is not allowed.
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Decode<MetadataRequest>([0xff, 0xff, 0xff, 0xff], 0));

        // GroupMetadataKey v0: a null group string (length -1).
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Decode<GroupMetadataKey>([0xff, 0xff], 0));
    }

    [Fact]
    public void Unsupported_versions_are_rejected_on_read_and_write()
    {
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Encode(new InitProducerIdRequest(), 7));
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Decode<InitProducerIdRequest>([0x00], -1));
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Decode<ProduceRequest>([0x00], 2));
    }

    [Fact]
    public void Tagged_field_is_written_only_when_non_default_and_round_trips()
    {
        var response = new ApiVersionsResponse { ErrorCode = 0, ThrottleTimeMs = 0 };
        var plain = MessageCodec.Encode(response, 3);
        Assert.Equal(0x00, plain[^1]); // empty tagged section

        response.FinalizedFeaturesEpoch = 9;
        var tagged = MessageCodec.Encode(response, 3);
        // count 1, tag 1, size 8, int64 9.
        Assert.Equal(new byte[] { 0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 9 }, tagged[^11..]);
        Assert.Equal(9L, MessageCodec.Decode<ApiVersionsResponse>(tagged, 3).FinalizedFeaturesEpoch);
    }

    [Fact]
    public void Unknown_tags_are_preserved_in_tag_order_around_known_ones()
    {
        var response = new ApiVersionsResponse
        {
            FinalizedFeaturesEpoch = 1,
            UnknownTaggedFields = [new TaggedField(4, new byte[] { 0xAA })],
        };
        var bytes = MessageCodec.Encode(response, 3);
        // count 2; known tag 1 first, then unknown tag 4.
        Assert.Equal(new byte[] { 0x02, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x04, 0x01, 0xAA }, bytes[^14..]);
        var decoded = MessageCodec.Decode<ApiVersionsResponse>(bytes, 3);
        var unknown = Assert.Single(decoded.UnknownTaggedFields!);
        Assert.Equal(4, unknown.Tag);
        Assert.Equal(bytes, MessageCodec.Encode(decoded, 3));
    }

    [Fact]
    public void Unknown_tags_in_a_non_flexible_version_throw()
    {
        var response = new ApiVersionsResponse { UnknownTaggedFields = [new TaggedField(5, new byte[] { 1 })] };
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Encode(response, 2));
    }

    [Fact]
    public void Tagged_only_storage_field_must_be_default_in_a_version_without_tags()
    {
        // TransactionLogValue.PreviousProducerId exists only as a tagged field from v1 and is not ignorable.
        var value = new TransactionLogValue { PreviousProducerId = 5 };
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Encode(value, 0));
        Assert.Equal(5L, MessageCodec.Decode<TransactionLogValue>(MessageCodec.Encode(value, 1), 1).PreviousProducerId);
    }

    [Fact]
    public void RequestHeader_ClientId_keeps_the_int16_length_in_flexible_version_2()
    {
        // RequestHeader.json: ClientId has "flexibleVersions": "none".
        var header = new RequestHeader { RequestApiKey = 18, RequestApiVersion = 3, CorrelationId = 7, ClientId = "ab" };
        Assert.Equal(new byte[] { 0, 18, 0, 3, 0, 0, 0, 7, 0, 2, (byte)'a', (byte)'b', 0 }, MessageCodec.Encode(header, 2));
    }

    [Fact]
    public void Hostile_array_count_is_rejected_before_allocation()
    {
        // ApiVersionsResponse v0: ErrorCode then an ApiKeys count of 2^31-1 with nothing after it.
        byte[] bytes = [0x00, 0x00, 0x7f, 0xff, 0xff, 0xff];
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Decode<ApiVersionsResponse>(bytes, 0));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void Truncated_tagged_field_value_is_rejected()
    {
        // ApiVersionsResponse v3, empty ApiKeys, throttle 0, then tag 1 declaring 2 bytes for an int64.
        byte[] bytes = [0, 0, 0x01, 0, 0, 0, 0, 0x01, 0x01, 0x02, 0, 0];
        Assert.Throws<KafkaProtocolException>(() => MessageCodec.Decode<ApiVersionsResponse>(bytes, 3));
    }

    [Theory]
    [InlineData(ApiKey.ApiVersions, 3, 2, 0)]
    [InlineData(ApiKey.ApiVersions, 0, 1, 0)]
    [InlineData(ApiKey.Produce, 9, 2, 1)]
    [InlineData(ApiKey.Produce, 8, 1, 0)]
    [InlineData(ApiKey.InitProducerId, 2, 2, 1)]
    [InlineData(ApiKey.InitProducerId, 1, 1, 0)]
    [InlineData(ApiKey.ControlledShutdown, 0, 0, 0)]
    public void Header_versions_follow_flexibility_with_the_ApiVersions_and_ControlledShutdown_exceptions(
        ApiKey apiKey, short apiVersion, short requestHeader, short responseHeader)
    {
        Assert.Equal(requestHeader, ApiMessages.RequestHeaderVersion(apiKey, apiVersion));
        Assert.Equal(responseHeader, ApiMessages.ResponseHeaderVersion(apiKey, apiVersion));
    }

    [Fact]
    public void ApiMessages_table_matches_the_generated_types()
    {
        Assert.True(ApiMessages.TryGet(ApiKey.InitProducerId, out var info));
        Assert.Equal("InitProducerId", info.Name);
        Assert.Equal((0, 6, 2), (info.LowestVersion, info.HighestVersion, info.FlexibleVersionsFrom));
        Assert.True(info.LatestVersionUnstable);
        Assert.Equal(typeof(InitProducerIdRequest), info.RequestType);
        Assert.Equal(typeof(InitProducerIdResponse), info.ResponseType);
        foreach (var api in ApiMessages.All)
        {
            Assert.Equal(api.LowestVersion, MessageCodec.StaticShort(api.RequestType, "LowestSupportedVersion"));
            Assert.Equal(api.HighestVersion, MessageCodec.StaticShort(api.ResponseType, "HighestSupportedVersion"));
            Assert.Equal(api.ApiKey, (ApiKey)api.RequestType.GetProperty("ApiKey")!.GetValue(null)!);
        }
    }
}
