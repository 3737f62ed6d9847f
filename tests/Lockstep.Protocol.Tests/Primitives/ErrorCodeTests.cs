namespace Lockstep.Protocol.Tests.Primitives;

/// <summary>
/// The error-code table against values the wire depends on (kip939-spec.md §7.9 and client-compat.md trap 3), and
/// the retriable classification clients act on.
/// </summary>
public sealed class ErrorCodeTests
{
    [Theory]
    [InlineData(ErrorCode.UnknownServerError, -1, "UNKNOWN_SERVER_ERROR")]
    [InlineData(ErrorCode.None, 0, "NONE")]
    [InlineData(ErrorCode.UnsupportedVersion, 35, "UNSUPPORTED_VERSION")]
    [InlineData(ErrorCode.InvalidProducerEpoch, 47, "INVALID_PRODUCER_EPOCH")]
    [InlineData(ErrorCode.ConcurrentTransactions, 51, "CONCURRENT_TRANSACTIONS")]
    [InlineData(ErrorCode.MemberIdRequired, 79, "MEMBER_ID_REQUIRED")]
    [InlineData(ErrorCode.UnstableOffsetCommit, 88, "UNSTABLE_OFFSET_COMMIT")]
    [InlineData(ErrorCode.ProducerFenced, 90, "PRODUCER_FENCED")]
    [InlineData(ErrorCode.TransactionAbortable, 120, "TRANSACTION_ABORTABLE")]
    public void Codes_and_names_match_Kafka(ErrorCode code, short value, string name)
    {
        Assert.Equal(value, (short)code);
        Assert.Equal(name, code.KafkaName());
    }

    [Fact]
    public void Retriable_follows_Kafka_exception_hierarchy()
    {
        Assert.True(ErrorCode.NotLeaderOrFollower.IsRetriable());
        Assert.True(ErrorCode.CoordinatorLoadInProgress.IsRetriable());
        Assert.True(ErrorCode.ConcurrentTransactions.IsRetriable());
        Assert.True(ErrorCode.UnstableOffsetCommit.IsRetriable());
        Assert.False(ErrorCode.ProducerFenced.IsRetriable());
        Assert.False(ErrorCode.OutOfOrderSequenceNumber.IsRetriable());
        Assert.False(ErrorCode.TransactionAbortable.IsRetriable());
        Assert.False(ErrorCode.None.IsRetriable());
    }

    [Fact]
    public void Unknown_code_has_a_readable_name()
    {
        Assert.Equal("UNKNOWN_ERROR_CODE(30000)", ((ErrorCode)30000).KafkaName());
    }
}
