using Lockstep.Protocol.Messages;

namespace Lockstep.Protocol.Tests.Messages;

/// <summary>
/// Golden bytes for InitProducerId v6 (KIP-939) from kip939-spec.md §6.2: each body is decoded to the documented
/// values and re-encoded byte-identical.
/// </summary>
public sealed class InitProducerIdGoldenTests
{
    [Fact]
    public void InitProducerId_Request_v6_kip939_spec()
    {
        byte[] bytes =
        [
            0x06, 0x74, 0x78, 0x6e, 0x2d, 0x31, // compact string "txn-1" (length + 1 = 6)
            0x00, 0x00, 0xea, 0x60, // TransactionTimeoutMs 60000
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // ProducerId -1
            0xff, 0xff, // ProducerEpoch -1
            0x01, // Enable2Pc true
            0x00, // KeepPreparedTxn false
            0x00, // empty tagged-field section
        ];

        var request = MessageCodec.Decode<InitProducerIdRequest>(bytes, 6);

        Assert.Equal("txn-1", request.TransactionalId);
        Assert.Equal(60000, request.TransactionTimeoutMs);
        Assert.Equal(-1L, request.ProducerId);
        Assert.Equal((short)-1, request.ProducerEpoch);
        Assert.True(request.Enable2Pc);
        Assert.False(request.KeepPreparedTxn);
        Assert.Null(request.UnknownTaggedFields);
        Assert.Equal(bytes, MessageCodec.Encode(request, 6));
    }

    [Fact]
    public void InitProducerId_Response_v6_kip939_spec()
    {
        byte[] bytes =
        [
            0x00, 0x00, 0x00, 0x00, // ThrottleTimeMs 0
            0x00, 0x00, // ErrorCode 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, // ProducerId 1000
            0x00, 0x05, // ProducerEpoch 5
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // OngoingTxnProducerId -1
            0xff, 0xff, // OngoingTxnProducerEpoch -1
            0x00, // empty tagged-field section
        ];

        var response = MessageCodec.Decode<InitProducerIdResponse>(bytes, 6);

        Assert.Equal(0, response.ThrottleTimeMs);
        Assert.Equal((short)0, response.ErrorCode);
        Assert.Equal(1000L, response.ProducerId);
        Assert.Equal((short)5, response.ProducerEpoch);
        Assert.Equal(-1L, response.OngoingTxnProducerId);
        Assert.Equal((short)-1, response.OngoingTxnProducerEpoch);
        Assert.Equal(bytes, MessageCodec.Encode(response, 6));
    }

    [Fact]
    public void InitProducerId_Request_defaults_match_the_schema()
    {
        // InitProducerIdRequest.json: ProducerId/ProducerEpoch default -1; strings default "" (FieldSpec rule).
        var request = new InitProducerIdRequest();
        Assert.Equal(-1L, request.ProducerId);
        Assert.Equal((short)-1, request.ProducerEpoch);
        Assert.Equal("", request.TransactionalId);
        Assert.False(request.Enable2Pc);
    }
}
