using Lockstep.Protocol;

namespace Lockstep.Client.Admin;

/// <summary>Admin errors: the Kafka code plus the broker's own message when it sent one.</summary>
internal static class AdminErrors
{
    public static KafkaException Create(ErrorCode error, string context, string? brokerMessage = null)
    {
        var message = $"{context}: {error.KafkaName()} ({(short)error})" +
            (string.IsNullOrEmpty(brokerMessage) ? "." : $": {brokerMessage}");
        // UNKNOWN_TOPIC_OR_PARTITION is retriable in Kafka's table (a producer may be ahead of metadata), but an
        // admin call about a named topic treats it as the answer, as Java's admin client does (describeTopics and
        // deleteTopics fail with UnknownTopicOrPartitionException instead of retrying until the timeout).
        return error.IsRetriable() && error != ErrorCode.UnknownTopicOrPartition
            ? new KafkaRetriableException(error, message)
            : new KafkaException(error, message);
    }
}
