using System;
using Lockstep.Protocol;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Consumer;

/// <summary>Consumer and group log messages (source-generated).</summary>
internal static partial class ConsumerLog
{
    [LoggerMessage(100, LogLevel.Information, "Joined group {GroupId} generation {GenerationId} as {MemberId} " +
        "(leader {IsLeader}); assigned {Assigned}.")]
    public static partial void Joined(ILogger logger, string groupId, int generationId, string memberId, bool isLeader,
        string assigned);

    [LoggerMessage(101, LogLevel.Debug, "Group {GroupId}: {Api} returned {Error}; retrying.")]
    public static partial void GroupRetry(ILogger logger, string groupId, string api, ErrorCode error);

    [LoggerMessage(102, LogLevel.Information, "Group {GroupId}: heartbeat returned {Error}; rejoining.")]
    public static partial void HeartbeatRejoin(ILogger logger, string groupId, ErrorCode error);

    [LoggerMessage(103, LogLevel.Warning, "Group {GroupId}: no consume call for more than max.poll.interval.ms " +
        "({Interval}); leaving the group.")]
    public static partial void PollTimeout(ILogger logger, string groupId, TimeSpan interval);

    [LoggerMessage(104, LogLevel.Debug, "Fetch from broker {NodeId} failed: {Message}")]
    public static partial void FetchFailed(ILogger logger, int nodeId, string message);

    [LoggerMessage(105, LogLevel.Information, "{Partition}: offset out of range at {Offset}; resetting to {Policy}.")]
    public static partial void OffsetReset(ILogger logger, TopicPartition partition, long offset, string policy);

    [LoggerMessage(106, LogLevel.Debug, "Group {GroupId}: heartbeat failed: {Message}")]
    public static partial void HeartbeatFailed(ILogger logger, string groupId, string message);

    [LoggerMessage(107, LogLevel.Warning, "Group {GroupId}: automatic offset commit failed: {Message}")]
    public static partial void AutoCommitFailed(ILogger logger, string groupId, string message);
}
