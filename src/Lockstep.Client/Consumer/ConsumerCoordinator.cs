using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Internal;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Consumer;

/// <summary>
/// Membership in a classic consumer group (Java's <c>ConsumerCoordinator</c> + <c>AbstractCoordinator</c>):
/// FindCoordinator, JoinGroup (with the KIP-394 MEMBER_ID_REQUIRED round trip), the leader's assignment,
/// SyncGroup, background heartbeats, the max.poll.interval.ms check, OffsetCommit/OffsetFetch and LeaveGroup.
/// </summary>
/// <remarks>
/// <para>Threading: joining, committing and the rebalance callbacks run on the consume path (the application's
/// calls; the consumer, like Java's, is used by one logical thread at a time). The heartbeat loop runs in the
/// background and only reads the membership and raises flags. Fields marked "guarded" are read and written under
/// <c>_lock</c>; <c>_owned</c> belongs to the consume path.</para>
/// <para>Invariants: heartbeats are sent only while <c>_stable</c> (between a successful SyncGroup and the next
/// JoinGroup); a heartbeat result is applied only if the generation it was sent for is still current, so a late
/// REBALANCE_IN_PROGRESS from an old generation does not trigger a redundant rebalance.</para>
/// </remarks>
internal sealed class ConsumerCoordinator : IAsyncDisposable
{
    private readonly KafkaCluster _cluster;
    private readonly KafkaConsumerOptions _options;
    private readonly IPartitionAssignor _assignor;
    private readonly Func<string, CancellationToken, Task<int?>> _partitionCount;
    private readonly ILogger _logger;
    private readonly string _groupId;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<TopicPartition> _owned = [];

    // Guarded by _lock.
    private string _memberId = string.Empty;
    private int _generationId = -1;
    private bool _stable;
    private bool _rejoinNeeded = true;
    private bool _lostPending;
    private long _lastPoll;
    private KafkaException? _fatal;

    private Task _heartbeatLoop = Task.CompletedTask;
    private IReadOnlyCollection<string> _joinedTopics = [];

    public ConsumerCoordinator(
        KafkaCluster cluster, KafkaConsumerOptions options, IPartitionAssignor assignor,
        Func<string, CancellationToken, Task<int?>> partitionCount, ILogger logger)
    {
        _cluster = cluster;
        _options = options;
        _assignor = assignor;
        _partitionCount = partitionCount;
        _logger = logger;
        _groupId = options.GroupId ?? throw new InvalidOperationException("group.id is required.");
        _lastPoll = cluster.Time.GetTimestamp();
    }

    /// <summary>Partitions this member owns (consume path only).</summary>
    public IReadOnlyCollection<TopicPartition> Owned => _owned;

    /// <summary>The identity to pass with transactional offset commits (KIP-447).</summary>
    public ConsumerGroupMetadata GroupMetadata
    {
        get
        {
            lock (_lock)
            {
                return new ConsumerGroupMetadata(_groupId, _generationId, _memberId, _options.GroupInstanceId);
            }
        }
    }

    /// <summary>Forces a rejoin on the next poll (subscription changed, or a commit hit a rebalance).</summary>
    public void RequestRejoin()
    {
        lock (_lock)
        {
            _rejoinNeeded = true;
        }
    }

    /// <summary>
    /// The consume path's group duty: records the poll time, reports lost partitions, and (re)joins when needed.
    /// Returns once this member is stable in a generation with its assignment applied.
    /// </summary>
    public async Task PollAsync(
        IReadOnlyCollection<string> topics, IRebalanceListener listener, CancellationToken cancellationToken)
    {
        bool lost, rejoin;
        lock (_lock)
        {
            _lastPoll = _cluster.Time.GetTimestamp();
            if (_fatal is not null)
            {
                throw _fatal;
            }

            lost = _lostPending;
            _lostPending = false;
            // Subscribe always installs a new collection, so a reference change means a new subscription (and this
            // check costs nothing per consumed record).
            rejoin = _rejoinNeeded || !ReferenceEquals(topics, _joinedTopics);
        }

        if (lost && _owned.Count > 0)
        {
            var partitions = _owned.ToList();
            _owned.Clear();
            await listener.OnLostAsync(partitions).ConfigureAwait(false);
        }

        // KIP-429: a cooperative member whose last assignment revoked partitions rejoins right away, so the
        // partitions it released can be handed out; the loop also covers rebalances that start mid-join.
        while (rejoin)
        {
            await JoinAsync(topics, listener, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                rejoin = _rejoinNeeded;
                _lastPoll = _cluster.Time.GetTimestamp();
            }
        }
    }

    private async Task JoinAsync(
        IReadOnlyCollection<string> topics, IRebalanceListener listener, CancellationToken cancellationToken)
    {
        if (!_assignor.IsCooperative && _owned.Count > 0)
        {
            // Eager protocol: everything is revoked before joining (Java's onJoinPrepare).
            var revoked = _owned.ToList();
            _owned.Clear();
            await listener.OnRevokedAsync(revoked).ConfigureAwait(false);
        }

        lock (_lock)
        {
            _stable = false;
        }

        // Java's rebalance-latency spans from the start of the join (after onJoinPrepare's revocation) to the
        // assignment being applied (AbstractCoordinator.joinGroupIfNeeded, GroupCoordinatorMetrics).
        var diagnostics = _cluster.Diagnostics;
        using var activity = diagnostics.ActivitySource.StartActivity("Lockstep.Client.Rebalance");
        activity?.SetTag(ClientDiagnostics.ClientIdTag, _options.ClientId);
        activity?.SetTag("messaging.consumer.group.name", _groupId);
        var start = _cluster.Time.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outcome = await TryJoinOnceAsync(topics, cancellationToken).ConfigureAwait(false);
            if (outcome is null)
            {
                await Task.Delay(_cluster.Backoff(attempt), _cluster.Time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            _joinedTopics = topics;
            await ApplyAssignmentAsync(outcome, listener).ConfigureAwait(false);
            if (_heartbeatLoop.IsCompleted)
            {
                _heartbeatLoop = HeartbeatLoopAsync();
            }

            var tags = ClientDiagnostics.ClientTags(_options.ClientId);
            diagnostics.Rebalances.Add(1, tags);
            diagnostics.RebalanceDuration.Record(_cluster.Time.GetElapsedTime(start).TotalMilliseconds, tags);
            activity?.SetTag("lockstep.generation", GroupMetadata.GenerationId);
            return;
        }
    }

    /// <summary>One JoinGroup + SyncGroup round; null when it must be retried after a back-off.</summary>
    private async Task<List<TopicPartition>?> TryJoinOnceAsync(
        IReadOnlyCollection<string> topics, CancellationToken cancellationToken)
    {
        int coordinator;
        JoinGroupResponse join;
        var metadata = ConsumerProtocol.EncodeSubscription(topics, _owned);
        try
        {
            coordinator = await _cluster.FindCoordinatorAsync(CoordinatorType.Group, _groupId, cancellationToken)
                .ConfigureAwait(false);
            string memberId;
            lock (_lock)
            {
                memberId = _memberId;
            }

            join = await _cluster.SendAsync<JoinGroupRequest, JoinGroupResponse>(coordinator, version => new JoinGroupRequest
            {
                GroupId = _groupId,
                SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
                RebalanceTimeoutMs = version >= 1 ? (int)_options.MaxPollInterval.TotalMilliseconds : -1,
                MemberId = memberId,
                GroupInstanceId = version >= 5 ? _options.GroupInstanceId : null,
                ProtocolType = ConsumerProtocol.ProtocolType,
                Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = _assignor.Name, Metadata = metadata }],
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaRetriableException ex)
        {
            _cluster.InvalidateCoordinator(CoordinatorType.Group, _groupId);
            ConsumerLog.GroupRetry(_logger, _groupId, "JoinGroup", ex.ErrorCode);
            return null;
        }

        var error = (ErrorCode)join.ErrorCode;
        switch (error)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.MemberIdRequired:
                // KIP-394: the first join only obtains a member id; join again with it, immediately.
                lock (_lock)
                {
                    _memberId = join.MemberId;
                }

                return await TryJoinOnceAsync(topics, cancellationToken).ConfigureAwait(false);
            case ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration:
                ResetMembership();
                return null;
            default:
                return HandleGroupError(error, "JoinGroup");
        }

        lock (_lock)
        {
            _memberId = join.MemberId;
            _generationId = join.GenerationId;
        }

        var assignments = new List<SyncGroupRequest.SyncGroupRequestAssignment>();
        var isLeader = join.Leader == join.MemberId;
        if (isLeader && !join.SkipAssignment)
        {
            assignments = await AssignAsync(join.Members, cancellationToken).ConfigureAwait(false);
        }

        SyncGroupResponse sync;
        try
        {
            sync = await _cluster.SendAsync<SyncGroupRequest, SyncGroupResponse>(coordinator, version => new SyncGroupRequest
            {
                GroupId = _groupId,
                GenerationId = join.GenerationId,
                MemberId = join.MemberId,
                GroupInstanceId = version >= 3 ? _options.GroupInstanceId : null,
                ProtocolType = version >= 5 ? ConsumerProtocol.ProtocolType : null,
                ProtocolName = version >= 5 ? join.ProtocolName : null,
                Assignments = assignments,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaRetriableException ex)
        {
            _cluster.InvalidateCoordinator(CoordinatorType.Group, _groupId);
            ConsumerLog.GroupRetry(_logger, _groupId, "SyncGroup", ex.ErrorCode);
            return null;
        }

        error = (ErrorCode)sync.ErrorCode;
        switch (error)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.RebalanceInProgress:
                ConsumerLog.GroupRetry(_logger, _groupId, "SyncGroup", error);
                return null;
            case ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration:
                ResetMembership();
                return null;
            default:
                return HandleGroupError(error, "SyncGroup");
        }

        var assigned = ConsumerProtocol.DecodeAssignment(sync.Assignment);
        ConsumerLog.Joined(_logger, _groupId, join.GenerationId, join.MemberId, isLeader, string.Join(",", assigned));
        return assigned;
    }

    private List<TopicPartition>? HandleGroupError(ErrorCode error, string api)
    {
        if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable)
        {
            _cluster.InvalidateCoordinator(CoordinatorType.Group, _groupId);
        }

        if (error.IsRetriable() || error == ErrorCode.RebalanceInProgress)
        {
            ConsumerLog.GroupRetry(_logger, _groupId, api, error);
            return null;
        }

        // FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, GROUP_AUTHORIZATION_FAILED, GROUP_MAX_SIZE_REACHED,
        // INVALID_SESSION_TIMEOUT, …: retrying cannot help.
        var exception = KafkaException.FromErrorCode(error, $"{api} for group '{_groupId}'");
        lock (_lock)
        {
            _fatal = exception;
        }

        throw exception;
    }

    private async Task ApplyAssignmentAsync(List<TopicPartition> assigned, IRebalanceListener listener)
    {
        lock (_lock)
        {
            _stable = true;
            _rejoinNeeded = false;
        }

        var assignedSet = assigned.ToHashSet();
        if (_assignor.IsCooperative)
        {
            var revoked = _owned.Where(p => !assignedSet.Contains(p)).ToList();
            var added = assigned.Where(p => !_owned.Contains(p)).ToList();
            if (revoked.Count > 0)
            {
                _owned.ExceptWith(revoked);
                await listener.OnRevokedAsync(revoked).ConfigureAwait(false);

                // KIP-429: rejoin so the leader can give the released partitions to their new owner.
                RequestRejoin();
            }

            _owned.UnionWith(added);
            await listener.OnAssignedAsync(added).ConfigureAwait(false);
        }
        else
        {
            _owned.Clear();
            _owned.UnionWith(assigned);
            await listener.OnAssignedAsync(assigned).ConfigureAwait(false);
        }
    }

    /// <summary>The leader's job: decode every member's subscription and run the assignor.</summary>
    private async Task<List<SyncGroupRequest.SyncGroupRequestAssignment>> AssignAsync(
        List<JoinGroupResponse.JoinGroupResponseMember> members, CancellationToken cancellationToken)
    {
        var subscriptions = new List<GroupMemberSubscription>(members.Count);
        foreach (var member in members)
        {
            var subscription = ConsumerProtocol.DecodeSubscription(member.Metadata);
            subscriptions.Add(new GroupMemberSubscription(member.MemberId, member.GroupInstanceId,
                subscription.Topics, ConsumerProtocol.OwnedPartitions(subscription)));
        }

        var partitionsPerTopic = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var topic in subscriptions.SelectMany(s => s.Topics).Distinct(StringComparer.Ordinal))
        {
            if (await _partitionCount(topic, cancellationToken).ConfigureAwait(false) is { } count)
            {
                partitionsPerTopic[topic] = count;
            }
        }

        var assignment = _assignor.Assign(partitionsPerTopic, subscriptions);
        return assignment.Select(a => new SyncGroupRequest.SyncGroupRequestAssignment
        {
            MemberId = a.Key,
            Assignment = ConsumerProtocol.EncodeAssignment(a.Value),
        }).ToList();
    }

    /// <summary>Forgets the member id and generation (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, poll timeout); the
    /// partitions are lost, not revoked, because another member may already own them.</summary>
    private void ResetMembership()
    {
        lock (_lock)
        {
            _memberId = string.Empty;
            _generationId = -1;
            _stable = false;
            _rejoinNeeded = true;
            _lostPending = true;
        }
    }

    private async Task HeartbeatLoopAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.HeartbeatInterval, _cluster.Time, token).ConfigureAwait(false);
                string memberId;
                int generation;
                bool pollExpired;
                lock (_lock)
                {
                    if (!_stable)
                    {
                        continue;
                    }

                    memberId = _memberId;
                    generation = _generationId;
                    pollExpired = _cluster.Time.GetElapsedTime(_lastPoll) > _options.MaxPollInterval;
                }

                if (pollExpired)
                {
                    // Java's heartbeat thread does the same: a stuck application must not hold partitions forever.
                    ConsumerLog.PollTimeout(_logger, _groupId, _options.MaxPollInterval);
                    await LeaveGroupAsync(memberId, "consumer poll timeout has expired", token).ConfigureAwait(false);
                    continue;
                }

                var coordinator = await _cluster.FindCoordinatorAsync(CoordinatorType.Group, _groupId, token)
                    .ConfigureAwait(false);
                var response = await _cluster.SendAsync<HeartbeatRequest, HeartbeatResponse>(coordinator, version =>
                    new HeartbeatRequest
                    {
                        GroupId = _groupId,
                        GenerationId = generation,
                        MemberId = memberId,
                        GroupInstanceId = version >= 3 ? _options.GroupInstanceId : null,
                    }, cancellationToken: token).ConfigureAwait(false);
                ApplyHeartbeat((ErrorCode)response.ErrorCode, generation);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (KafkaException ex)
            {
                _cluster.InvalidateCoordinator(CoordinatorType.Group, _groupId);
                ConsumerLog.HeartbeatFailed(_logger, _groupId, ex.Message);
            }
        }
    }

    private void ApplyHeartbeat(ErrorCode error, int generation)
    {
        lock (_lock)
        {
            if (error == ErrorCode.None || generation != _generationId || !_stable)
            {
                return;
            }
        }

        switch (error)
        {
            case ErrorCode.RebalanceInProgress:
                ConsumerLog.HeartbeatRejoin(_logger, _groupId, error);
                RequestRejoin();
                break;
            case ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration:
                ConsumerLog.HeartbeatRejoin(_logger, _groupId, error);
                ResetMembership();
                break;
            case ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable:
                _cluster.InvalidateCoordinator(CoordinatorType.Group, _groupId);
                break;
            case ErrorCode.FencedInstanceId:
                lock (_lock)
                {
                    _fatal = KafkaException.FromErrorCode(error, $"Heartbeat for group '{_groupId}'");
                    _stable = false;
                }

                break;
            default:
                ConsumerLog.HeartbeatFailed(_logger, _groupId, error.KafkaName());
                break;
        }
    }

    /// <summary>
    /// Commits offsets for this group with the current member id and generation (or as a standalone "simple"
    /// consumer, generation -1, when not subscribed). REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION /
    /// UNKNOWN_MEMBER_ID mean the partitions may have moved: the commit fails and the member rejoins.
    /// </summary>
    public static async Task CommitAsync(
        KafkaCluster cluster, KafkaConsumerOptions options, ConsumerCoordinator? member,
        IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets, CancellationToken cancellationToken)
    {
        var groupId = options.GroupId ?? throw new InvalidOperationException("Committing offsets requires group.id.");
        if (offsets.Count == 0)
        {
            return;
        }

        var metadata = member?.GroupMetadata ?? new ConsumerGroupMetadata(groupId);
        for (var attempt = 0; ; attempt++)
        {
            ErrorCode error;
            try
            {
                var coordinator = await cluster.FindCoordinatorAsync(CoordinatorType.Group, groupId, cancellationToken)
                    .ConfigureAwait(false);
                var response = await cluster.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(coordinator,
                    version => BuildCommit(version, metadata, options.GroupInstanceId, offsets),
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                error = response.Topics.SelectMany(t => t.Partitions).Select(p => (ErrorCode)p.ErrorCode)
                    .FirstOrDefault(e => e != ErrorCode.None);
            }
            catch (KafkaRetriableException ex)
            {
                error = ex.ErrorCode;
            }

            if (error == ErrorCode.None)
            {
                return;
            }

            if (error is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId
                or ErrorCode.FencedInstanceId)
            {
                member?.RequestRejoin();
                throw new KafkaException(error,
                    $"OffsetCommit for group '{groupId}' failed with {error.KafkaName()}: the group rebalanced and " +
                    "the partitions may now belong to another member (Java's CommitFailedException). Consume again " +
                    "to rejoin; records processed since the last commit may be delivered again.");
            }

            if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.NetworkException
                or ErrorCode.RequestTimedOut)
            {
                cluster.InvalidateCoordinator(CoordinatorType.Group, groupId);
            }

            if (!error.IsRetriable())
            {
                throw KafkaException.FromErrorCode(error, $"OffsetCommit for group '{groupId}'");
            }

            await Task.Delay(cluster.Backoff(attempt), cluster.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static OffsetCommitRequest BuildCommit(
        short version, ConsumerGroupMetadata metadata, string? instanceId,
        IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets) => new()
        {
            GroupId = metadata.GroupId,
            GenerationIdOrMemberEpoch = metadata.GenerationId,
            MemberId = metadata.MemberId,
            GroupInstanceId = version >= 7 ? instanceId : null,
            Topics = offsets.GroupBy(o => o.Key.Topic).Select(g => new OffsetCommitRequest.OffsetCommitRequestTopic
            {
                Name = g.Key,
                Partitions = g.Select(o => new OffsetCommitRequest.OffsetCommitRequestPartition
                {
                    PartitionIndex = o.Key.Partition,
                    CommittedOffset = o.Value.Offset,
                    CommittedLeaderEpoch = version >= 6 ? o.Value.LeaderEpoch : -1,
                    CommittedMetadata = o.Value.Metadata ?? string.Empty,
                }).ToList(),
            }).ToList(),
        };

    /// <summary>
    /// The group's committed offsets for <paramref name="partitions"/> (OffsetFetch; the v8+ batched shape or the
    /// older single-group one). RequireStable (v7+, KIP-447) makes the coordinator wait for pending transactional
    /// commits, so a read_committed pipeline never restarts from an offset a transaction is about to replace.
    /// </summary>
    public static async Task<Dictionary<TopicPartition, OffsetAndMetadata?>> FetchCommittedAsync(
        KafkaCluster cluster, string groupId, IReadOnlyCollection<TopicPartition> partitions, bool requireStable,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            ErrorCode error;
            try
            {
                var coordinator = await cluster.FindCoordinatorAsync(CoordinatorType.Group, groupId, cancellationToken)
                    .ConfigureAwait(false);
                var response = await cluster.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(coordinator,
                    version => BuildOffsetFetch(version, groupId, partitions, requireStable),
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                var result = new Dictionary<TopicPartition, OffsetAndMetadata?>();
                error = ParseOffsetFetch(response, groupId, result);
                if (error == ErrorCode.None)
                {
                    foreach (var partition in partitions)
                    {
                        result.TryAdd(partition, null);
                    }

                    return result;
                }
            }
            catch (KafkaRetriableException ex)
            {
                error = ex.ErrorCode;
            }

            if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.NetworkException)
            {
                cluster.InvalidateCoordinator(CoordinatorType.Group, groupId);
            }

            // UNSTABLE_OFFSET_COMMIT (a transaction with offsets for these partitions is still open) is retriable.
            if (!error.IsRetriable())
            {
                throw KafkaException.FromErrorCode(error, $"OffsetFetch for group '{groupId}'");
            }

            await Task.Delay(cluster.Backoff(attempt), cluster.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static OffsetFetchRequest BuildOffsetFetch(
        short version, string groupId, IReadOnlyCollection<TopicPartition>? partitions, bool requireStable)
    {
        var request = new OffsetFetchRequest { RequireStable = version >= 7 && requireStable };
        if (version >= 8)
        {
            request.Groups.Add(new OffsetFetchRequest.OffsetFetchRequestGroup
            {
                GroupId = groupId,
                Topics = partitions?.GroupBy(p => p.Topic).Select(g => new OffsetFetchRequest.OffsetFetchRequestTopics
                {
                    Name = g.Key,
                    PartitionIndexes = g.Select(p => p.Partition).ToList(),
                }).ToList(),
            });
            request.Topics = [];
        }
        else
        {
            request.GroupId = groupId;
            request.Topics = partitions?.GroupBy(p => p.Topic).Select(g => new OffsetFetchRequest.OffsetFetchRequestTopic
            {
                Name = g.Key,
                PartitionIndexes = g.Select(p => p.Partition).ToList(),
            }).ToList();
        }

        return request;
    }

    /// <summary>Fills <paramref name="result"/> (offset -1 = no commit → null) and returns the first error.</summary>
    internal static ErrorCode ParseOffsetFetch(
        OffsetFetchResponse response, string groupId, Dictionary<TopicPartition, OffsetAndMetadata?> result)
    {
        if (response.Groups.Count > 0)
        {
            var group = response.Groups.FirstOrDefault(g => g.GroupId == groupId);
            if (group is null)
            {
                return ErrorCode.UnknownServerError;
            }

            if (group.ErrorCode != 0)
            {
                return (ErrorCode)group.ErrorCode;
            }

            foreach (var topic in group.Topics)
            {
                foreach (var p in topic.Partitions)
                {
                    if (p.ErrorCode != 0)
                    {
                        return (ErrorCode)p.ErrorCode;
                    }

                    result[new TopicPartition(topic.Name, p.PartitionIndex)] = p.CommittedOffset < 0
                        ? null
                        : new OffsetAndMetadata(p.CommittedOffset, p.Metadata, p.CommittedLeaderEpoch);
                }
            }

            return ErrorCode.None;
        }

        if (response.ErrorCode != 0)
        {
            return (ErrorCode)response.ErrorCode;
        }

        foreach (var topic in response.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                if (p.ErrorCode != 0)
                {
                    return (ErrorCode)p.ErrorCode;
                }

                result[new TopicPartition(topic.Name, p.PartitionIndex)] = p.CommittedOffset < 0
                    ? null
                    : new OffsetAndMetadata(p.CommittedOffset, p.Metadata, p.CommittedLeaderEpoch);
            }
        }

        return ErrorCode.None;
    }

    /// <summary>Sends LeaveGroup (dynamic members only: a static member keeps its slot for a quick restart,
    /// KIP-345) and stops heartbeating.</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken)
    {
        string memberId;
        lock (_lock)
        {
            memberId = _memberId;
            _stable = false;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _heartbeatLoop.ConfigureAwait(false);
        await LeaveGroupAsync(memberId, "the consumer is being closed", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Java's <c>AbstractCoordinator.maybeLeaveGroup</c> (clients/src/main/java/org/apache/kafka/clients/consumer/
    /// internals/AbstractCoordinator.java): the member forgets its member id and generation as soon as it sends
    /// LeaveGroup (<c>resetGenerationOnLeaveGroup</c> → <c>resetStateAndGeneration</c>), not when the reply arrives,
    /// and also when no request is sent at all (a static member, or no member id) or the send fails or is cancelled.
    /// Once the member has decided to leave, nothing it sends may still carry the old generation: the coordinator
    /// may already have handed its partitions to another member.
    /// </summary>
    private async Task LeaveGroupAsync(string memberId, string reason, CancellationToken cancellationToken)
    {
        // The request below carries the captured member id, so resetting first is the same as Java's "send, then
        // reset" with nothing in between that could observe the old generation.
        ResetMembership();
        if (memberId.Length > 0 && _options.GroupInstanceId is null)
        {
            await LeaveCoreAsync(memberId, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task LeaveCoreAsync(string memberId, string reason, CancellationToken cancellationToken)
    {
        try
        {
            var coordinator = await _cluster.FindCoordinatorAsync(CoordinatorType.Group, _groupId, cancellationToken)
                .ConfigureAwait(false);
            await _cluster.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(coordinator, version => version >= 3
                ? new LeaveGroupRequest
                {
                    GroupId = _groupId,
                    Members =
                    [
                        new LeaveGroupRequest.MemberIdentity
                        {
                            MemberId = memberId,
                            GroupInstanceId = _options.GroupInstanceId,
                            Reason = version >= 5 ? reason : null,
                        },
                    ],
                }
                : new LeaveGroupRequest { GroupId = _groupId, MemberId = memberId },
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex)
        {
            // Best effort: the session timeout evicts the member anyway.
            ConsumerLog.HeartbeatFailed(_logger, _groupId, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _heartbeatLoop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
