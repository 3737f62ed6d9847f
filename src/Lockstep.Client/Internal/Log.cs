using System;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Internal;

/// <summary>Source-generated log messages (no argument evaluation when the level is off, CA1873).</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Broker {NodeId} does not support ApiVersions v{Version}; retrying with v{Next} (KIP-511).")]
    public static partial void ApiVersionsFallback(ILogger logger, int nodeId, short version, short next);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection to broker {NodeId} at {EndPoint} closing: {Reason}")]
    public static partial void ConnectionClosing(ILogger logger, int nodeId, EndPoint endPoint, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connected to broker {NodeId} at {EndPoint}.")]
    public static partial void Connected(ILogger logger, int nodeId, EndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connecting to broker {NodeId} at {EndPoint} failed: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, int nodeId, EndPoint endPoint, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "FindCoordinator({Type}, {Key}) failed with {Error}; retrying.")]
    public static partial void CoordinatorRetry(ILogger logger, CoordinatorType type, string key, Protocol.ErrorCode error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Metadata refresh failed.")]
    public static partial void MetadataRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Produce to {Partition} failed with {Error}; retrying batch with base sequence {Sequence}.")]
    public static partial void ProduceRetry(ILogger logger, TopicPartition partition, Protocol.ErrorCode error, int sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bumping the producer epoch of producer {ProducerId} after {Error} on {Partition} (KIP-360).")]
    public static partial void EpochBump(ILogger logger, long producerId, Protocol.ErrorCode error, TopicPartition partition);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Transaction request {Api} failed with {Error}; retrying.")]
    public static partial void TransactionRetry(ILogger logger, string api, Protocol.ErrorCode error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Producer {TransactionalId} initialised: producer id {ProducerId}, epoch {Epoch}, transaction.version {TransactionVersion}, prepared {Prepared}.")]
    public static partial void TransactionsInitialised(ILogger logger, string transactionalId, long producerId, short epoch, short transactionVersion, string prepared);

    [LoggerMessage(Level = LogLevel.Error, Message = "Producer entered the fatal state.")]
    public static partial void Fatal(ILogger logger, Exception exception);
}
