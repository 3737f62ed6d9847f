using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Handlers;
using Lockstep.Protocol;
using Lockstep.Storage;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Coordinators.Groups;

/// <summary>
/// The classic group coordinator (Kafka's <c>GroupMetadataManager</c> classic parts and
/// <c>OffsetMetadataManager</c>): membership and rebalances, committed offsets, and their persistence in the
/// internal <c>__consumer_offsets</c> log.
/// </summary>
/// <remarks>
/// <para>
/// Single owner (style-guide §3.2 rule 6): every read and write of group state runs on one logical executor, a
/// <see cref="Channel{T}"/> of work items drained by one task. Handlers enqueue synchronously (so the per-connection
/// ordering contract of <see cref="IApiHandler"/> holds) and await the reply; timers never touch state, they enqueue
/// too. A channel rather than a lock per group because several operations span groups (ListGroups, offset expiry,
/// DeleteGroups batches) and because appends to the shared internal log must happen in the same order as the state
/// changes they record; with one executor both hold without lock ordering rules. Group operations take microseconds
/// on a single node, so one executor is not a bottleneck; waiting for fsync happens off the executor.
/// </para>
/// <para>
/// Timers follow Kafka's <c>CoordinatorTimer</c> semantics: scheduling a key replaces the previous timer of that key
/// and a fired timer whose key was rescheduled or cancelled meanwhile does nothing.
/// </para>
/// </remarks>
internal sealed partial class GroupCoordinator : IBrokerComponent
{
    /// <summary>
    /// Kafka's <c>group.classic.new.member.join.timeout.ms</c> (not configurable there either): a new member's
    /// parked JoinGroup expires after this long, bounding defunct members created by client retries.
    /// </summary>
    private const int NewMemberJoinTimeoutMs = 5 * 60 * 1000;

    /// <summary>Kafka's <c>offset.metadata.max.bytes</c> default.</summary>
    private const int OffsetMetadataMaxBytes = 4096;

    private readonly BrokerCore _core;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Action> _work = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions
    {
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });

    private readonly Dictionary<string, ClassicGroup> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<TimerKey, TimerEntry> _timers = [];

    // Partitions with a transactional offset commit that is neither committed nor aborted yet, per group, with the
    // producer ids of the open transactions touching each (Kafka's OffsetMetadataManager.openTransactions): OffsetFetch
    // with RequireStable answers UNSTABLE_OFFSET_COMMIT for them, and expiry leaves them alone.
    private readonly Dictionary<string, Dictionary<TopicPartition, HashSet<long>>> _pendingTransactionalOffsets = new(StringComparer.Ordinal);

    // The pending offsets themselves, per producer id (Kafka's pendingTransactionalOffsets): applied or dropped by the
    // marker of that producer id (see GroupCoordinator.Transactions.cs).
    private readonly Dictionary<long, Dictionary<(string Group, TopicPartition Partition), CommittedOffset>> _pendingByProducer = [];

    // Append order of offset records (CommittedOffset.Sequence), counted from 0 on every start: replay renumbers.
    private long _offsetSequence;

    private GroupLog? _log;
    private Task? _loop;
    private ITimer? _expiryTimer;

    /// <summary>Creates the coordinator; state is loaded in <see cref="Open"/>.</summary>
    public GroupCoordinator(BrokerCore core)
    {
        _core = core;
        _time = core.Time;
        _logger = core.LoggerFactory.CreateLogger<GroupCoordinator>();
    }

    private BrokerConfig Config => _core.Config;

    private GroupLog Log => _log ?? throw new InvalidOperationException("The group coordinator is not open.");

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public void Open()
    {
        // The internal log keeps every record until a tombstone supersedes it: no time/size retention (Kafka's
        // __consumer_offsets is compacted, never deleted by time).
        var config = Config.DefaultLogConfig with { RetentionMs = -1, RetentionBytes = -1 };
        var partitionLog = _core.Logs.GetOrCreateLog(new TopicPartition(GroupLog.TopicName, 0), config);
        _log = new GroupLog(partitionLog, _core.Codecs);
        Replay();
        _loop = Task.Run(RunAsync);
    }

    /// <inheritdoc />
    public void Start(CancellationToken stopping)
    {
        var interval = TimeSpan.FromMilliseconds(Config.OffsetsRetentionCheckIntervalMs);
        _expiryTimer = _time.CreateTimer(_ => Post(ExpireOffsets), null, interval, interval);
    }

    /// <inheritdoc />
    public IEnumerable<IApiHandler> CreateHandlers() =>
    [
        new FindCoordinatorHandler(_core),
        new JoinGroupHandler(this),
        new SyncGroupHandler(this),
        new HeartbeatHandler(this),
        new LeaveGroupHandler(this),
        new OffsetCommitHandler(this, _core.Topics),
        new OffsetFetchHandler(this),
        new DescribeGroupsHandler(this),
        new ListGroupsHandler(this),
        new DeleteGroupsHandler(this),
        new OffsetDeleteHandler(this, _core.Topics),
        new TxnOffsetCommitHandler(this, _core.Topics),
    ];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_expiryTimer is not null)
        {
            await _expiryTimer.DisposeAsync().ConfigureAwait(false);
        }

        // Parked JoinGroup/SyncGroup requests are answered NOT_COORDINATOR, as Kafka does when it unloads a group,
        // so clients rediscover the coordinator instead of waiting for their request timeout.
        Post(Unload);
        _work.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    // ---- executor -------------------------------------------------------------------------------------------

    private async Task RunAsync()
    {
        await foreach (var item in _work.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                item();
            }
            catch (Exception ex)
            {
                // SubmitAsync captures operation failures in the caller's task; this only sees timer/internal items.
                LogExecutorFailure(ex);
            }
        }
    }

    private void Post(Action item)
    {
        if (!_work.Writer.TryWrite(item))
        {
            // Shut down: timers firing late have nothing left to do.
        }
    }

    /// <summary>Runs <paramref name="operation"/> on the executor and returns its result.</summary>
    private Task<T> SubmitAsync<T>(Func<T> operation)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var item = () =>
        {
            try
            {
                result.TrySetResult(operation());
            }
            catch (Exception ex)
            {
                result.TrySetException(ex);
            }
        };
        if (!_work.Writer.TryWrite(item))
        {
            result.TrySetException(new ObjectDisposedException(nameof(GroupCoordinator)));
        }

        return result.Task;
    }

    private static TaskCompletionSource<T> NewPending<T>() =>
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Unload()
    {
        foreach (var group in _groups.Values)
        {
            foreach (var member in group.Members)
            {
                member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.NotCoordinator, member.MemberId));
                member.AwaitingJoin = null;
                member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.NotCoordinator));
                member.AwaitingSync = null;
            }
        }

        foreach (var entry in _timers.Values)
        {
            entry.Timer?.Dispose();
        }

        _timers.Clear();
    }

    // ---- timers ---------------------------------------------------------------------------------------------

    private enum TimerKind
    {
        Heartbeat,
        Join,
        Sync,
    }

    private readonly record struct TimerKey(TimerKind Kind, string GroupId, string MemberId);

    private sealed class TimerEntry
    {
        public ITimer? Timer { get; set; }
    }

    /// <summary>Schedules <paramref name="action"/> on the executor after <paramref name="delayMs"/>, replacing the key's timer.</summary>
    private void Schedule(TimerKey key, long delayMs, Action action)
    {
        Cancel(key);
        var entry = new TimerEntry();
        _timers[key] = entry;
        void Fire()
        {
            if (_timers.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
            {
                _timers.Remove(key);
                entry.Timer?.Dispose();
                action();
            }
        }

        if (delayMs <= 0)
        {
            // Runs after the current operation, like a 0 ms Kafka timer, without depending on the clock.
            Post(Fire);
            return;
        }

        entry.Timer = _time.CreateTimer(_ => Post(Fire), null, TimeSpan.FromMilliseconds(delayMs), Timeout.InfiniteTimeSpan);
    }

    private void Cancel(TimerKey key)
    {
        if (_timers.Remove(key, out var entry))
        {
            entry.Timer?.Dispose();
        }
    }

    // ---- persistence ----------------------------------------------------------------------------------------

    private void Replay()
    {
        var now = NowMs;
        var offsets = 0;
        Log.Replay(
            (key, value, producerId) =>
            {
                var partition = new TopicPartition(key.topic, key.partition);
                if (producerId != TxnNoProducerId)
                {
                    // A transactional commit: pending until the marker of its producer id (replayed below) resolves
                    // it; a transaction still open at shutdown is resolved by the transaction coordinator's marker.
                    if (value is not null)
                    {
                        AddPendingTransactionalOffset(producerId, key.group, partition, ToCommittedOffset(value));
                    }

                    return;
                }

                if (value is null)
                {
                    if (_groups.TryGetValue(key.group, out var existing))
                    {
                        existing.Offsets.Remove(partition);
                    }

                    return;
                }

                offsets++;
                GetOrCreateGroup(key.group, now).Offsets[partition] = ToCommittedOffset(value);
            },
            (key, value) =>
            {
                if (value is null)
                {
                    _groups.Remove(key.group);
                    return;
                }

                // Members are not persisted (GroupLog.GroupRecord), so a loaded group is Empty; its generation and
                // protocol carry over, and offset expiry counts from when it became Empty.
                var group = GetOrCreateGroup(key.group, now);
                group.GenerationId = value.generation;
                group.ProtocolType = string.IsNullOrEmpty(value.protocolType) ? null : value.protocolType;
                group.ProtocolName = value.protocol;
                group.CurrentStateTimestampMs = value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : now;
            },
            (producerId, commit) => CompleteTransactionalOffsets(producerId, commit),
            (offset, ex) => LogUndecodableRecord(offset, ex));
        LogLoaded(_groups.Count, offsets);
    }

    private ClassicGroup GetOrCreateGroup(string groupId, long nowMs)
    {
        if (!_groups.TryGetValue(groupId, out var group))
        {
            group = new ClassicGroup(groupId, nowMs);
            _groups[groupId] = group;
        }

        return group;
    }

    /// <summary>Appends records; returns the durability task, or null (logged) when the write failed.</summary>
    private Task? TryAppendAsync(List<GroupLog.Entry> entries)
    {
        if (entries.Count == 0)
        {
            return Task.CompletedTask;
        }

        try
        {
            return Log.AppendAsync(entries, NowMs);
        }
        catch (IOException ex)
        {
            LogAppendFailed(ex);
            return null;
        }
    }

    /// <summary>Persists the group's generation/protocol; failures only lose that metadata, so they are logged.</summary>
    private void PersistGroup(ClassicGroup group) => _ = TryAppendAsync([GroupLog.GroupRecord(group, tombstone: false)]);

    // ---- logging --------------------------------------------------------------------------------------------

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Groups} groups and {Offsets} offset commits from __consumer_offsets")]
    private partial void LogLoaded(int groups, int offsets);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped undecodable __consumer_offsets record at offset {Offset}")]
    private partial void LogUndecodableRecord(long offset, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Group coordinator work item failed")]
    private partial void LogExecutorFailure(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Append to __consumer_offsets failed")]
    private partial void LogAppendFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {GroupId}: static member {InstanceId} rejoined as {NewMemberId} (was {OldMemberId})")]
    private partial void LogStaticMemberReplaced(string groupId, string instanceId, string newMemberId, string oldMemberId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {GroupId}: preparing rebalance after generation {Generation}: {Reason}")]
    private partial void LogPreparingRebalance(string groupId, int generation, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {GroupId}: generation {Generation} is empty")]
    private partial void LogEmptyGeneration(string groupId, int generation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {GroupId}: generation {Generation} with {Members} members, protocol {Protocol}")]
    private partial void LogNewGeneration(string groupId, int generation, int members, string? protocol);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {GroupId}: session of member {MemberId} expired")]
    private partial void LogSessionExpired(string groupId, string memberId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Expired {Offsets} committed offsets and removed {Groups} empty groups")]
    private partial void LogOffsetsExpired(int offsets, int groups);
}
