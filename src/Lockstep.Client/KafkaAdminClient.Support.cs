using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Admin;
using Lockstep.Client.Consumer;
using Lockstep.Client.Internal;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client;

/// <summary>Retry, routing and decoding helpers of the admin client.</summary>
public sealed partial class KafkaAdminClient
{
    private static void ThrowIfError(short errorCode, string context, string? brokerMessage = null)
    {
        if (errorCode != 0)
        {
            throw AdminErrors.Create((ErrorCode)errorCode, context, brokerMessage);
        }
    }

    private Task<MetadataResponse> MetadataAsync(List<string> topics, CancellationToken cancellationToken) =>
        _cluster.SendAsync<MetadataRequest, MetadataResponse>(KafkaCluster.AnyNode, version => new MetadataRequest
        {
            Topics = topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
            // Field exists from v4; before it brokers always auto-create, which an admin "describe" must not risk.
            AllowAutoTopicCreation = version < 4,
        }, cancellationToken: cancellationToken);

    private async Task<List<int>> BrokerIdsAsync(CancellationToken cancellationToken)
    {
        var metadata = await MetadataAsync([], cancellationToken).ConfigureAwait(false);
        _cluster.UpdateBrokers(metadata.Brokers.Select(b => new BrokerNode(b.NodeId, b.Host, b.Port)));
        return metadata.Brokers.Select(b => b.NodeId).Order().ToList();
    }

    private static int NodeFor(ConfigResource resource) =>
        resource.Type is ConfigResourceType.Broker or ConfigResourceType.BrokerLogger
        && int.TryParse(resource.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : KafkaCluster.AnyNode;

    private static List<TopicPartition> DecodeAssignment(string protocolType, byte[] assignment)
    {
        if (protocolType != ConsumerProtocol.ProtocolType || assignment.Length == 0)
        {
            return [];
        }

        try
        {
            return ConsumerProtocol.DecodeAssignment(assignment);
        }
        catch (KafkaProtocolException)
        {
            // A member with a non-standard assignment encoding: describe it without partitions, as Java does.
            return [];
        }
    }

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, retrying retriable Kafka errors with back-off
    /// until <c>default.api.timeout.ms</c>.</summary>
    private async Task<T> RetryAsync<T>(
        string api, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.DefaultApiTimeout);
        KafkaException? last = null;
        for (var i = 0; ; i++)
        {
            try
            {
                return await attempt(timeout.Token).ConfigureAwait(false);
            }
            catch (KafkaRetriableException ex)
            {
                last = ex;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(api, last);
            }

            try
            {
                await Task.Delay(_cluster.Backoff(i), _cluster.Time, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(api, last);
            }
        }
    }

    /// <summary>As <see cref="RetryAsync{T}"/>, sending to the coordinator of <paramref name="key"/> and finding it
    /// again after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE or a lost connection.</summary>
    private Task<T> CoordinatorRetryAsync<T>(
        CoordinatorType type, string key, string api, Func<int, CancellationToken, Task<T>> attempt,
        CancellationToken cancellationToken) =>
        RetryAsync(api, async token =>
        {
            var node = await _cluster.FindCoordinatorAsync(type, key, token).ConfigureAwait(false);
            try
            {
                return await attempt(node, token).ConfigureAwait(false);
            }
            catch (KafkaRetriableException)
            {
                _cluster.InvalidateCoordinator(type, key);
                throw;
            }
            catch (KafkaException ex) when (ex.ErrorCode is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable)
            {
                _cluster.InvalidateCoordinator(type, key);
                throw new KafkaRetriableException(ex.ErrorCode, ex.Message, ex);
            }
        }, cancellationToken);

    private KafkaRetriableException TimedOut(string api, KafkaException? last) =>
        new KafkaRetriableException(last?.ErrorCode ?? ErrorCode.RequestTimedOut,
            $"{api} did not complete within default.api.timeout.ms ({_options.DefaultApiTimeout.TotalMilliseconds} ms)" +
            (last is null ? "." : $"; last error: {last.Message}"), last);
}
