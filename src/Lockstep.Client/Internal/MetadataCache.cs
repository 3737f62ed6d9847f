using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Internal;

/// <summary>A broker as listed in Metadata.</summary>
internal sealed record BrokerNode(int NodeId, string Host, int Port);

/// <summary>One partition's leader as last seen (LeaderId -1 while there is none).</summary>
internal readonly record struct PartitionLeader(int Partition, int LeaderId, int LeaderEpoch, ErrorCode Error);

/// <summary>A topic as last seen in Metadata; <see cref="Partitions"/> is indexed by partition number.</summary>
internal sealed record TopicMetadata(string Name, ErrorCode Error, Guid TopicId, IReadOnlyList<PartitionLeader> Partitions)
{
    /// <summary>True when the topic exists and every partition has a leader.</summary>
    public bool IsUsable => Error == ErrorCode.None && Partitions.Count > 0 && Partitions.All(p => p.LeaderId >= 0);
}

/// <summary>
/// The client's view of the cluster: brokers and the topics it cares about. Refreshed (single-flight) on demand,
/// when a caller reports stale data (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, a lost connection), and
/// when older than <c>metadata.max.age.ms</c>.
/// </summary>
/// <remarks>
/// Invariants: <c>_topics</c> and <c>_fetchedAt</c> are replaced together under <c>_lock</c> by the one running
/// refresh; readers take the dictionaries as immutable snapshots.
/// </remarks>
internal sealed class MetadataCache
{
    private readonly KafkaCluster _cluster;
    private readonly bool _allowAutoTopicCreation;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _interest = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, TopicMetadata> _topics = new Dictionary<string, TopicMetadata>();
    private long _fetchedAt = long.MinValue;
    private bool _stale = true;
    private Task? _refresh;

    public MetadataCache(KafkaCluster cluster, bool allowAutoTopicCreation, ILogger logger)
    {
        _cluster = cluster;
        _allowAutoTopicCreation = allowAutoTopicCreation;
        _logger = logger;
    }

    /// <summary>The cluster id from the last Metadata response.</summary>
    public string? ClusterId { get; private set; }

    /// <summary>Cached metadata for <paramref name="topic"/>, without refreshing; null when unknown.</summary>
    public TopicMetadata? TryGetCached(string topic)
    {
        lock (_lock)
        {
            return _topics.GetValueOrDefault(topic);
        }
    }

    /// <summary>Marks the cache stale so the next lookup refreshes it (Java's <c>Metadata.requestUpdate</c>).</summary>
    public void RequestUpdate()
    {
        lock (_lock)
        {
            _stale = true;
        }
    }

    /// <summary>
    /// The synchronous fast path of <see cref="GetTopicAsync"/>: the cached metadata when it is usable and needs no
    /// refresh, else null (then call <see cref="GetTopicAsync"/>). Saves the producer a <c>Task</c> per record.
    /// </summary>
    public TopicMetadata? TryGetFresh(string topic)
    {
        var cached = Lookup(topic, out var needsRefresh);
        return cached is { IsUsable: true } && !needsRefresh ? cached : null;
    }

    /// <summary>
    /// Metadata for <paramref name="topic"/> with a leader for every partition. Refreshes when needed and retries with
    /// back-off while the topic is being created or has no leader; the caller's token bounds the wait.
    /// </summary>
    /// <exception cref="KafkaException">The broker reports a non-retriable topic error (e.g. authorization or an invalid
    /// name).</exception>
    public async Task<TopicMetadata> GetTopicAsync(string topic, CancellationToken cancellationToken)
    {
        var attempt = 0;
        while (true)
        {
            var cached = Lookup(topic, out var needsRefresh);
            if (cached is { IsUsable: true } && !needsRefresh)
            {
                return cached;
            }

            await RefreshAsync(cancellationToken).ConfigureAwait(false);
            cached = TryGetCached(topic);
            if (cached is { IsUsable: true })
            {
                return cached;
            }

            if (cached is not null && cached.Error != ErrorCode.None && !cached.Error.IsRetriable())
            {
                throw KafkaException.FromErrorCode(cached.Error, $"Metadata for topic '{topic}'");
            }

            // UNKNOWN_TOPIC_OR_PARTITION right after auto-creation and LEADER_NOT_AVAILABLE are both transient.
            RequestUpdate();
            await Task.Delay(_cluster.Backoff(attempt++), _cluster.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private TopicMetadata? Lookup(string topic, out bool needsRefresh)
    {
        lock (_lock)
        {
            var added = _interest.Add(topic);
            var age = _cluster.Time.GetElapsedTime(_fetchedAt == long.MinValue ? 0 : _fetchedAt);
            needsRefresh = added || _stale || _fetchedAt == long.MinValue || age >= _cluster.Options.MetadataMaxAge;
            return _topics.GetValueOrDefault(topic);
        }
    }

    /// <summary>Refreshes the topics of interest; concurrent callers share one request.</summary>
    public Task RefreshAsync(CancellationToken cancellationToken)
    {
        Task refresh;
        lock (_lock)
        {
            if (_refresh is null || _refresh.IsCompleted)
            {
                _stale = false;
                _refresh = RefreshCoreAsync(_interest.ToArray());
            }

            refresh = _refresh;
        }

        return refresh.WaitAsync(cancellationToken);
    }

    private async Task RefreshCoreAsync(string[] topics)
    {
        await Task.Yield();
        try
        {
            var request = new MetadataRequest
            {
                Topics = topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
                AllowAutoTopicCreation = _allowAutoTopicCreation,
            };
            using var timeout = new CancellationTokenSource(_cluster.Options.RequestTimeout, _cluster.Time);
            var response = await _cluster.SendAsync<MetadataRequest, MetadataResponse>(
                KafkaCluster.AnyNode, request, cancellationToken: timeout.Token).ConfigureAwait(false);
            Apply(response);
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
        {
            // The waiting caller retries; keep the cache stale so it does.
            Log.MetadataRefreshFailed(_logger, ex);
            RequestUpdate();
        }
    }

    /// <summary>Applies a Metadata response (also used by callers that fetched metadata themselves).</summary>
    public void Apply(MetadataResponse response)
    {
        _cluster.UpdateBrokers(response.Brokers.Select(b => new BrokerNode(b.NodeId, b.Host, b.Port)));
        var topics = new Dictionary<string, TopicMetadata>(StringComparer.Ordinal);
        foreach (var topic in response.Topics)
        {
            if (topic.Name is null)
            {
                continue;
            }

            var partitions = topic.Partitions
                .OrderBy(p => p.PartitionIndex)
                .Select(p => new PartitionLeader(p.PartitionIndex, p.LeaderId, p.LeaderEpoch, (ErrorCode)p.ErrorCode))
                .ToArray();
            topics[topic.Name] = new TopicMetadata(topic.Name, (ErrorCode)topic.ErrorCode, topic.TopicId, partitions);
        }

        lock (_lock)
        {
            // Keep topics this response did not mention (a refresh for a subset must not forget the others).
            foreach (var (name, old) in _topics)
            {
                topics.TryAdd(name, old);
            }

            _topics = topics;
            _fetchedAt = _cluster.Time.GetTimestamp();
            ClusterId = response.ClusterId;
        }
    }
}
