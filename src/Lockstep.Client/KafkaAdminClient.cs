using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Admin;
using Lockstep.Client.Consumer;
using Lockstep.Client.Internal;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client;

/// <summary>
/// Cluster administration over the client core (franz-go's kadm layering): topics, configs, groups and their
/// offsets, transactions and producers (KIP-664), and force-terminating a transactional id.
/// </summary>
/// <remarks>
/// Every call retries retriable errors (coordinator moves, leader changes, lost connections) with back-off for up
/// to <see cref="KafkaAdminClientOptions.DefaultApiTimeout"/>. Failures surface as <see cref="KafkaException"/>
/// carrying the Kafka <see cref="KafkaException.ErrorCode"/> and, where the broker sent one, its error message.
/// Calls covering several resources fail on the first resource in error (Java returns one future per resource).
/// </remarks>
public sealed partial class KafkaAdminClient : IAsyncDisposable
{
    private readonly KafkaAdminClientOptions _options;
    private readonly KafkaCluster _cluster;

    /// <summary>Creates an admin client; connections open lazily.</summary>
    /// <param name="options">Settings; <see cref="KafkaClientOptions.Validate"/> runs here.</param>
    public KafkaAdminClient(KafkaAdminClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _cluster = new KafkaCluster(options, allowAutoTopicCreation: false, ClientDiagnostics.Shared);
    }

    /// <summary>Creates topics (CreateTopics).</summary>
    /// <param name="topics">The topics.</param>
    /// <param name="validateOnly">True to only check that the request would succeed.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task completing when every topic was created.</returns>
    /// <exception cref="KafkaException">E.g. TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG.</exception>
    public Task CreateTopicsAsync(
        IEnumerable<NewTopic> topics, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var list = topics.ToList();
        return RetryAsync("CreateTopics", async token =>
        {
            var response = await _cluster.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(KafkaCluster.AnyNode,
                version => new CreateTopicsRequest
                {
                    timeoutMs = (int)Math.Min(_options.DefaultApiTimeout.TotalMilliseconds, int.MaxValue),
                    validateOnly = validateOnly,
                    Topics = list.Select(t => new CreateTopicsRequest.CreatableTopic
                    {
                        Name = t.Name,
                        NumPartitions = t.NumPartitions,
                        ReplicationFactor = t.ReplicationFactor,
                        Configs = (t.Configs ?? new Dictionary<string, string>())
                            .Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value })
                            .ToList(),
                    }).ToList(),
                }, cancellationToken: token).ConfigureAwait(false);
            foreach (var result in response.Topics)
            {
                ThrowIfError(result.ErrorCode, $"CreateTopics '{result.Name}'", result.ErrorMessage);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>Deletes topics by name (DeleteTopics).</summary>
    /// <param name="topics">Topic names.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task completing when every topic was deleted.</returns>
    /// <exception cref="KafkaException">E.g. UNKNOWN_TOPIC_OR_PARTITION.</exception>
    public Task DeleteTopicsAsync(IEnumerable<string> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var names = topics.ToList();
        return RetryAsync("DeleteTopics", async token =>
        {
            var response = await _cluster.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(KafkaCluster.AnyNode,
                version => version >= 6
                    ? new DeleteTopicsRequest
                    {
                        TimeoutMs = (int)Math.Min(_options.DefaultApiTimeout.TotalMilliseconds, int.MaxValue),
                        Topics = names.Select(n => new DeleteTopicsRequest.DeleteTopicState { Name = n }).ToList(),
                    }
                    : new DeleteTopicsRequest
                    {
                        TimeoutMs = (int)Math.Min(_options.DefaultApiTimeout.TotalMilliseconds, int.MaxValue),
                        TopicNames = names,
                    }, cancellationToken: token).ConfigureAwait(false);
            foreach (var result in response.Responses)
            {
                ThrowIfError(result.ErrorCode, $"DeleteTopics '{result.Name}'", result.ErrorMessage);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>Describes topics (Metadata, without auto-creation).</summary>
    /// <param name="topics">Topic names.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>One description per topic, in request order.</returns>
    /// <exception cref="KafkaException">E.g. UNKNOWN_TOPIC_OR_PARTITION for a missing topic.</exception>
    public Task<IReadOnlyList<TopicDescription>> DescribeTopicsAsync(
        IEnumerable<string> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var names = topics.ToList();
        return RetryAsync<IReadOnlyList<TopicDescription>>("DescribeTopics", async token =>
        {
            var response = await MetadataAsync(names, token).ConfigureAwait(false);
            var result = new List<TopicDescription>(names.Count);
            foreach (var name in names)
            {
                var topic = response.Topics.FirstOrDefault(t => t.Name == name)
                    ?? throw AdminErrors.Create(ErrorCode.UnknownTopicOrPartition, $"DescribeTopics '{name}'");
                ThrowIfError(topic.ErrorCode, $"DescribeTopics '{name}'");
                result.Add(new TopicDescription(name, topic.TopicId, topic.IsInternal, topic.Partitions
                    .OrderBy(p => p.PartitionIndex)
                    .Select(p => new TopicPartitionDescription(p.PartitionIndex, p.LeaderId, p.LeaderEpoch,
                        p.ReplicaNodes, p.IsrNodes))
                    .ToList()));
            }

            return result;
        }, cancellationToken);
    }

    /// <summary>Describes the cluster: DescribeCluster (KIP-700), or Metadata on brokers that lack it.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Cluster id, controller and brokers.</returns>
    public Task<ClusterDescription> DescribeClusterAsync(CancellationToken cancellationToken = default) =>
        RetryAsync("DescribeCluster", async token =>
        {
            try
            {
                var response = await _cluster.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(
                    KafkaCluster.AnyNode, _ => new DescribeClusterRequest(), cancellationToken: token)
                    .ConfigureAwait(false);
                ThrowIfError(response.ErrorCode, "DescribeCluster", response.ErrorMessage);
                return new ClusterDescription(response.ClusterId, response.ControllerId, response.Brokers
                    .Select(b => new BrokerDescription(b.BrokerId, b.Host, b.Port, b.Rack)).ToList());
            }
            catch (BrokerCapabilityException)
            {
                var metadata = await MetadataAsync([], token).ConfigureAwait(false);
                return new ClusterDescription(metadata.ClusterId, metadata.ControllerId, metadata.Brokers
                    .Select(b => new BrokerDescription(b.NodeId, b.Host, b.Port, b.Rack)).ToList());
            }
        }, cancellationToken);

    /// <summary>Describes the configs of a topic or broker (DescribeConfigs; broker resources go to that broker).
    /// </summary>
    /// <param name="resource">The resource.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Every config of the resource.</returns>
    public Task<IReadOnlyList<ConfigEntry>> DescribeConfigsAsync(
        ConfigResource resource, CancellationToken cancellationToken = default) =>
        RetryAsync<IReadOnlyList<ConfigEntry>>("DescribeConfigs", async token =>
        {
            var response = await _cluster.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(
                NodeFor(resource), _ => new DescribeConfigsRequest
                {
                    Resources =
                    [
                        new DescribeConfigsRequest.DescribeConfigsResource
                        {
                            ResourceType = (sbyte)resource.Type,
                            ResourceName = resource.Name,
                            ConfigurationKeys = null,
                        },
                    ],
                }, cancellationToken: token).ConfigureAwait(false);
            var result = response.Results.FirstOrDefault()
                ?? throw AdminErrors.Create(ErrorCode.UnknownServerError, $"DescribeConfigs {resource}", "no result");
            ThrowIfError(result.ErrorCode, $"DescribeConfigs {resource}", result.ErrorMessage);
            return result.Configs.Select(c => new ConfigEntry(c.Name, c.Value, c.ReadOnly, c.IsSensitive, c.ConfigSource))
                .ToList();
        }, cancellationToken);

    /// <summary>Applies config changes to one resource (IncrementalAlterConfigs, KIP-339).</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="alterations">The changes.</param>
    /// <param name="validateOnly">True to only validate.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task completing when applied.</returns>
    /// <exception cref="KafkaException">E.g. INVALID_CONFIG, with the broker's explanation.</exception>
    public Task IncrementalAlterConfigsAsync(
        ConfigResource resource, IEnumerable<ConfigAlteration> alterations, bool validateOnly = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alterations);
        var list = alterations.ToList();
        return RetryAsync("IncrementalAlterConfigs", async token =>
        {
            var response = await _cluster.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(
                NodeFor(resource), _ => new IncrementalAlterConfigsRequest
                {
                    ValidateOnly = validateOnly,
                    Resources =
                    [
                        new IncrementalAlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = (sbyte)resource.Type,
                            ResourceName = resource.Name,
                            Configs = list.Select(a => new IncrementalAlterConfigsRequest.AlterableConfig
                            {
                                Name = a.Name,
                                ConfigOperation = (sbyte)a.Operation,
                                Value = a.Value,
                            }).ToList(),
                        },
                    ],
                }, cancellationToken: token).ConfigureAwait(false);
            foreach (var result in response.Responses)
            {
                ThrowIfError(result.ErrorCode, $"IncrementalAlterConfigs {resource}", result.ErrorMessage);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>Lists the groups of every broker (ListGroups).</summary>
    /// <param name="states">Only groups in these states (ListGroups v4+); null or empty = all.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The groups.</returns>
    public Task<IReadOnlyList<GroupListing>> ListGroupsAsync(
        IEnumerable<string>? states = null, CancellationToken cancellationToken = default)
    {
        var filter = states?.ToList() ?? [];
        return RetryAsync<IReadOnlyList<GroupListing>>("ListGroups", async token =>
        {
            var result = new List<GroupListing>();
            foreach (var broker in await BrokerIdsAsync(token).ConfigureAwait(false))
            {
                var response = await _cluster.SendAsync<ListGroupsRequest, ListGroupsResponse>(broker, version =>
                {
                    if (filter.Count > 0 && version < 4)
                    {
                        throw new BrokerCapabilityException("ListGroups v4",
                            $"Broker {broker} cannot filter groups by state (needs ListGroups v4, KIP-518).");
                    }

                    return new ListGroupsRequest { StatesFilter = filter };
                }, cancellationToken: token).ConfigureAwait(false);
                ThrowIfError(response.ErrorCode, $"ListGroups on broker {broker}");
                result.AddRange(response.Groups.Select(g =>
                    new GroupListing(g.GroupId, g.ProtocolType, g.GroupState, g.GroupType)));
            }

            return result;
        }, cancellationToken);
    }

    /// <summary>Describes groups (DescribeGroups at each group's coordinator); consumer-protocol assignments are
    /// decoded.</summary>
    /// <param name="groupIds">The groups.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>One description per group, in request order. An unknown group is reported in state Dead by
    /// brokers before DescribeGroups v6 and raises GROUP_ID_NOT_FOUND from v6.</returns>
    public async Task<IReadOnlyList<GroupDescription>> DescribeGroupsAsync(
        IEnumerable<string> groupIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        var result = new List<GroupDescription>();
        foreach (var groupId in groupIds)
        {
            result.Add(await CoordinatorRetryAsync(CoordinatorType.Group, groupId, "DescribeGroups", async (node, token) =>
            {
                var response = await _cluster.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(node,
                    _ => new DescribeGroupsRequest { Groups = [groupId] }, cancellationToken: token).ConfigureAwait(false);
                var group = response.Groups.FirstOrDefault(g => g.GroupId == groupId)
                    ?? throw AdminErrors.Create(ErrorCode.UnknownServerError, $"DescribeGroups '{groupId}'", "no result");
                ThrowIfError(group.ErrorCode, $"DescribeGroups '{groupId}'", group.ErrorMessage);
                return new GroupDescription(group.GroupId, group.GroupState, group.ProtocolType, group.ProtocolData,
                    group.Members.Select(m => new GroupMemberDescription(m.MemberId, m.GroupInstanceId, m.ClientId,
                        m.ClientHost, DecodeAssignment(group.ProtocolType, m.MemberAssignment))).ToList());
            }, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>A group's committed offsets (OffsetFetch at its coordinator).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="partitions">The partitions; null = every partition with a commit.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Partition → committed offset; partitions without a commit are absent.</returns>
    public Task<IReadOnlyDictionary<TopicPartition, OffsetAndMetadata>> ListConsumerGroupOffsetsAsync(
        string groupId, IEnumerable<TopicPartition>? partitions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupId);
        var list = partitions?.ToList();
        return CoordinatorRetryAsync<IReadOnlyDictionary<TopicPartition, OffsetAndMetadata>>(CoordinatorType.Group,
            groupId, "OffsetFetch", async (node, token) =>
            {
                var response = await _cluster.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(node,
                    version => ConsumerCoordinator.BuildOffsetFetch(version, groupId, list, requireStable: false),
                    cancellationToken: token).ConfigureAwait(false);
                var offsets = new Dictionary<TopicPartition, OffsetAndMetadata?>();
                ThrowIfError((short)ConsumerCoordinator.ParseOffsetFetch(response, groupId, offsets),
                    $"OffsetFetch '{groupId}'");
                return offsets.Where(o => o.Value is not null).ToDictionary(o => o.Key, o => o.Value!.Value);
            }, cancellationToken);
    }

    /// <summary>Lists transactional ids known to every broker's transaction coordinator (ListTransactions,
    /// KIP-664), optionally filtered.</summary>
    /// <param name="filter">Filters; null = everything.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The matching transactional ids.</returns>
    /// <exception cref="BrokerCapabilityException">A filter needs a ListTransactions version the broker lacks (the
    /// duration filter needs v1, the id pattern v2): never silently ignored.</exception>
    public Task<IReadOnlyList<TransactionListing>> ListTransactionsAsync(
        ListTransactionsFilter? filter = null, CancellationToken cancellationToken = default)
    {
        filter ??= new ListTransactionsFilter();
        return RetryAsync<IReadOnlyList<TransactionListing>>("ListTransactions", async token =>
        {
            var result = new List<TransactionListing>();
            foreach (var broker in await BrokerIdsAsync(token).ConfigureAwait(false))
            {
                var response = await _cluster.SendAsync<ListTransactionsRequest, ListTransactionsResponse>(broker,
                    version => BuildListTransactions(version, broker, filter), cancellationToken: token)
                    .ConfigureAwait(false);
                ThrowIfError(response.ErrorCode, $"ListTransactions on broker {broker}");
                result.AddRange(response.TransactionStates.Select(t =>
                    new TransactionListing(t.TransactionalId, t.ProducerId, t.TransactionState)));
            }

            return result;
        }, cancellationToken);
    }

    private static ListTransactionsRequest BuildListTransactions(short version, int broker, ListTransactionsFilter filter)
    {
        if (filter.MinDuration is not null && version < 1)
        {
            throw new BrokerCapabilityException("ListTransactions v1",
                $"Broker {broker} cannot filter transactions by duration (needs ListTransactions v1, KIP-994).");
        }

        if (filter.TransactionalIdPattern is not null && version < 2)
        {
            throw new BrokerCapabilityException("ListTransactions v2",
                $"Broker {broker} cannot filter transactions by id pattern (needs ListTransactions v2, KIP-1152).");
        }

        return new ListTransactionsRequest
        {
            StateFilters = filter.States.ToList(),
            ProducerIdFilters = filter.ProducerIds.ToList(),
            DurationFilter = filter.MinDuration is { } d ? (long)d.TotalMilliseconds : -1,
            TransactionalIdPattern = filter.TransactionalIdPattern,
        };
    }

    /// <summary>Describes transactional ids (DescribeTransactions at each id's transaction coordinator).</summary>
    /// <param name="transactionalIds">The ids.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>One description per id, in request order.</returns>
    /// <exception cref="KafkaException">E.g. TRANSACTIONAL_ID_NOT_FOUND.</exception>
    public async Task<IReadOnlyList<TransactionDescription>> DescribeTransactionsAsync(
        IEnumerable<string> transactionalIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transactionalIds);
        var result = new List<TransactionDescription>();
        foreach (var id in transactionalIds)
        {
            result.Add(await CoordinatorRetryAsync(CoordinatorType.Transaction, id, "DescribeTransactions",
                async (node, token) =>
                {
                    var response = await _cluster.SendAsync<DescribeTransactionsRequest, DescribeTransactionsResponse>(
                        node, _ => new DescribeTransactionsRequest { TransactionalIds = [id] }, cancellationToken: token)
                        .ConfigureAwait(false);
                    var state = response.TransactionStates.FirstOrDefault(t => t.TransactionalId == id)
                        ?? throw AdminErrors.Create(ErrorCode.UnknownServerError, $"DescribeTransactions '{id}'",
                            "no result");
                    ThrowIfError(state.ErrorCode, $"DescribeTransactions '{id}'");
                    return new TransactionDescription(id, state.TransactionState, state.TransactionTimeoutMs,
                        state.TransactionStartTimeMs, state.ProducerId, state.ProducerEpoch, state.Topics
                            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p))).ToList());
                }, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>The active producers of partitions (DescribeProducers at each partition leader, KIP-664): how to
    /// find the producer of a hanging transaction.</summary>
    /// <param name="partitions">The partitions.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Partition → its active producers.</returns>
    public Task<IReadOnlyDictionary<TopicPartition, IReadOnlyList<ProducerStateDescription>>> DescribeProducersAsync(
        IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var list = partitions.ToList();
        return RetryAsync<IReadOnlyDictionary<TopicPartition, IReadOnlyList<ProducerStateDescription>>>(
            "DescribeProducers", async token =>
            {
                var result = new Dictionary<TopicPartition, IReadOnlyList<ProducerStateDescription>>();
                var byLeader = new Dictionary<int, List<TopicPartition>>();
                foreach (var partition in list)
                {
                    var metadata = await _cluster.Metadata.GetTopicAsync(partition.Topic, token).ConfigureAwait(false);
                    if (partition.Partition >= metadata.Partitions.Count)
                    {
                        throw AdminErrors.Create(ErrorCode.UnknownTopicOrPartition, $"DescribeProducers {partition}");
                    }

                    var leader = metadata.Partitions[partition.Partition].LeaderId;
                    if (!byLeader.TryGetValue(leader, out var group))
                    {
                        byLeader[leader] = group = [];
                    }

                    group.Add(partition);
                }

                foreach (var (leader, group) in byLeader)
                {
                    var response = await _cluster.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(leader,
                        _ => new DescribeProducersRequest
                        {
                            Topics = group.GroupBy(p => p.Topic).Select(g => new DescribeProducersRequest.TopicRequest
                            {
                                Name = g.Key,
                                PartitionIndexes = g.Select(p => p.Partition).ToList(),
                            }).ToList(),
                        }, cancellationToken: token).ConfigureAwait(false);
                    foreach (var topic in response.Topics)
                    {
                        foreach (var p in topic.Partitions)
                        {
                            var partition = new TopicPartition(topic.Name, p.PartitionIndex);
                            if (p.ErrorCode is (short)ErrorCode.NotLeaderOrFollower)
                            {
                                _cluster.Metadata.RequestUpdate();
                            }

                            ThrowIfError(p.ErrorCode, $"DescribeProducers {partition}", p.ErrorMessage);
                            result[partition] = p.ActiveProducers.Select(s => new ProducerStateDescription(s.ProducerId,
                                s.ProducerEpoch, s.LastSequence, s.LastTimestamp, s.CoordinatorEpoch,
                                s.CurrentTxnStartOffset)).ToList();
                        }
                    }
                }

                return result;
            }, cancellationToken);
    }

    /// <summary>
    /// Aborts whatever transaction <paramref name="transactionalId"/> has open or prepared, and fences its current
    /// producer (KIP-939's <c>Admin.forceTerminateTransaction</c>). As in Kafka, this is <c>fenceProducers</c> for
    /// one id: an InitProducerId for the id with no producer id/epoch and KeepPreparedTxn=false, which makes the
    /// coordinator bump the epoch and abort an ongoing or prepared transaction (KafkaAdminClient.java,
    /// FenceProducersHandler.java).
    /// </summary>
    /// <param name="transactionalId">The transactional id.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task completing once the coordinator accepted the fencing (the abort markers are written
    /// asynchronously by the coordinator).</returns>
    public Task ForceTerminateTransactionAsync(string transactionalId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        return CoordinatorRetryAsync(CoordinatorType.Transaction, transactionalId, "InitProducerId",
            async (node, token) =>
            {
                var response = await _cluster.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(node,
                    _ => new InitProducerIdRequest
                    {
                        TransactionalId = transactionalId,
                        // Kafka's FenceProducersHandler uses the admin call's timeout here: the coordinator only
                        // needs it to write the epoch bump to the transaction log.
                        TransactionTimeoutMs = (int)Math.Min(_options.DefaultApiTimeout.TotalMilliseconds, int.MaxValue),
                        ProducerId = -1,
                        ProducerEpoch = -1,
                        KeepPreparedTxn = false,
                    }, cancellationToken: token).ConfigureAwait(false);
                var error = (ErrorCode)response.ErrorCode;
                if (error == ErrorCode.ConcurrentTransactions)
                {
                    // The coordinator is still completing an earlier transaction of this id: retry (as Java does).
                    throw new KafkaRetriableException(error, $"InitProducerId '{transactionalId}': {error.KafkaName()}.");
                }

                ThrowIfError(response.ErrorCode, $"ForceTerminateTransaction '{transactionalId}'");
                return true;
            }, cancellationToken);
    }

    /// <summary>Closes every connection.</summary>
    /// <returns>A task completing when closed.</returns>
    public ValueTask DisposeAsync() => _cluster.DisposeAsync();
}
