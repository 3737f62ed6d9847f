using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Consumer;
using Lockstep.Client.Internal;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Records;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client;

/// <summary>
/// A Kafka consumer: manual assignment (<see cref="Assign"/>) or classic consumer groups (<see cref="Subscribe"/>,
/// range or cooperative-sticky), read_committed by default, explicit commits of the consumer position.
/// </summary>
/// <remarks>
/// <para>Like Java's <c>KafkaConsumer</c>, an instance is not thread-safe: call it from one logical flow at a time
/// (one await after another). Rebalance callbacks run inside <see cref="ConsumeAsync"/> on that flow and may call
/// <see cref="CommitAsync(CancellationToken)"/>. Group heartbeats run in the background, so processing a record
/// may take up to <see cref="KafkaConsumerOptions.MaxPollInterval"/> without losing the partitions.</para>
/// <para>Positions: <see cref="PositionAsync"/> is the offset of the next record to be returned. After a
/// transaction's COMMIT marker at offset <c>n</c> the position is <c>n + 1</c>, not "last record + 1"; commit the
/// position (as <see cref="CommitAsync(CancellationToken)"/> does) so a restarted consumer does not stop at the
/// marker.</para>
/// </remarks>
public sealed partial class KafkaConsumer : IAsyncDisposable
{
    private readonly KafkaConsumerOptions _options;
    private readonly KafkaCluster _cluster;
    private readonly KafkaCluster? _groupCluster;
    private readonly ConsumerCoordinator? _coordinator;
    private readonly CompressionCodecRegistry _codecs = KafkaCompression.CreateRegistry();
    private readonly ILogger _logger;
    private readonly Dictionary<TopicPartition, PartitionFetchState> _assignment = [];
    private readonly RebalanceListener _listener;
    private IReadOnlyCollection<string>? _subscription;
    private bool _manual;
    private TopicPartition? _current;
    private long _lastAutoCommit;
    private bool _disposed;

    /// <summary>Creates a consumer; connections open lazily on the first call that needs the cluster.</summary>
    /// <param name="options">Settings; <see cref="KafkaConsumerOptions.Validate"/> runs here.</param>
    public KafkaConsumer(KafkaConsumerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _cluster = new KafkaCluster(options, allowAutoTopicCreation: false, ClientDiagnostics.Shared);
        _logger = _cluster.LoggerFactory.CreateLogger("Lockstep.Client.Consumer");
        _listener = new RebalanceListener(this);
        _lastAutoCommit = _cluster.Time.GetTimestamp();
        if (options.GroupId is not null)
        {
            // A separate connection set for the group coordinator, as Java's consumer uses a dedicated coordinator
            // connection: JoinGroup is held by the broker for up to the rebalance timeout, so its request timeout
            // must exceed max.poll.interval.ms (AbstractCoordinator: rebalanceTimeout + 5 s), and a long-polling
            // Fetch must not delay heartbeats behind it on an ordered connection.
            var groupOptions = options.CloneForGroupCoordinator();
            _groupCluster = new KafkaCluster(groupOptions, allowAutoTopicCreation: false, ClientDiagnostics.Shared);
            IPartitionAssignor assignor = options.PartitionAssignmentStrategy == KafkaConsumerAssignmentStrategy.Range
                ? new RangeAssignor()
                : new CooperativeStickyAssignor();
            _coordinator = new ConsumerCoordinator(_groupCluster, options, assignor, PartitionCountAsync,
                _cluster.LoggerFactory.CreateLogger("Lockstep.Client.ConsumerGroup"));
        }
    }

    /// <summary>Called with the partitions newly assigned by a group rebalance (after they are added; positions
    /// are not initialised yet, so <see cref="Seek"/> may be called here).</summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? PartitionsAssigned { get; set; }

    /// <summary>Called with the partitions an orderly rebalance takes away, before they are removed: commit their
    /// offsets here. Eager (<c>range</c>) members revoke everything before every rebalance; cooperative members
    /// only what moves (KIP-429).</summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? PartitionsRevoked { get; set; }

    /// <summary>Called with the partitions lost without an orderly rebalance (the session expired, the generation
    /// was fenced, max.poll.interval.ms was exceeded): another member may own them already, so do not commit.</summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? PartitionsLost { get; set; }

    /// <summary>The partitions currently assigned (manually or by the group).</summary>
    public IReadOnlyCollection<TopicPartition> Assignment => _assignment.Keys.ToList();

    /// <summary>The subscribed topics, or empty when not subscribed.</summary>
    public IReadOnlyCollection<string> Subscription => _subscription ?? [];

    /// <summary>
    /// The group identity for <see cref="KafkaProducer.SendOffsetsToTransactionAsync"/> (KIP-447): group id,
    /// current generation and member id, so the coordinator rejects the transactional commit of a zombie member.
    /// For a consumer with <c>group.id</c> but manual assignment the generation is -1 (no fencing).
    /// </summary>
    /// <exception cref="InvalidOperationException">No <c>group.id</c> is configured.</exception>
    public ConsumerGroupMetadata GroupMetadata =>
        _coordinator?.GroupMetadata
        ?? throw new InvalidOperationException("GroupMetadata requires group.id.");

    /// <summary>
    /// Joins the consumer group with a subscription to <paramref name="topics"/>; the join happens on the next
    /// <see cref="ConsumeAsync"/>. Calling it again replaces the subscription (and triggers a rebalance).
    /// </summary>
    /// <param name="topics">Topic names (patterns are not supported).</param>
    /// <exception cref="InvalidOperationException">No <c>group.id</c>, or partitions were assigned manually.</exception>
    public void Subscribe(IEnumerable<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_coordinator is null)
        {
            throw new InvalidOperationException("Subscribe requires group.id.");
        }

        if (_manual)
        {
            throw new InvalidOperationException("Subscribe cannot be combined with Assign; use one or the other.");
        }

        var list = topics.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0 || list.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Subscribe needs at least one non-empty topic name.", nameof(topics));
        }

        _subscription = list;
    }

    /// <summary>
    /// Consumes exactly <paramref name="partitions"/> with no group membership (Java's <c>assign</c>). Positions
    /// start at the group's committed offset when <c>group.id</c> is set, else at <c>auto.offset.reset</c>; use
    /// <see cref="Seek"/> to choose. Partitions kept from a previous Assign keep their positions.
    /// </summary>
    /// <param name="partitions">The partitions; empty clears the assignment.</param>
    /// <exception cref="InvalidOperationException">The consumer is subscribed.</exception>
    public void Assign(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_subscription is not null)
        {
            throw new InvalidOperationException("Assign cannot be combined with Subscribe; use one or the other.");
        }

        var wanted = partitions.ToHashSet();
        foreach (var partition in _assignment.Keys.Where(p => !wanted.Contains(p)).ToList())
        {
            _assignment.Remove(partition);
        }

        foreach (var partition in wanted)
        {
            _assignment.TryAdd(partition, new PartitionFetchState());
        }

        _manual = wanted.Count > 0;
    }

    /// <summary>Sets the next offset to return for an assigned partition, dropping anything fetched beyond it.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <param name="offset">The offset of the next record to return (&gt;= 0).</param>
    /// <exception cref="InvalidOperationException">The partition is not assigned.</exception>
    public void Seek(TopicPartition partition, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        State(partition).Seek(offset);
    }

    /// <summary>Stops fetching and returning records of <paramref name="partitions"/> (they stay assigned, and
    /// the group sees no change) until <see cref="Resume"/>.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    public void Pause(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        foreach (var partition in partitions)
        {
            State(partition).Paused = true;
        }
    }

    /// <summary>Undoes <see cref="Pause"/>.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    public void Resume(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        foreach (var partition in partitions)
        {
            State(partition).Paused = false;
        }
    }

    /// <summary>The paused partitions.</summary>
    public IReadOnlyCollection<TopicPartition> Paused => _assignment.Where(a => a.Value.Paused).Select(a => a.Key).ToList();

    /// <summary>
    /// The offset of the next record <see cref="ConsumeAsync"/> will return for <paramref name="partition"/>,
    /// initialising it (committed offset, else <c>auto.offset.reset</c>) if needed.
    /// </summary>
    /// <param name="partition">An assigned partition.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The position.</returns>
    public async Task<long> PositionAsync(TopicPartition partition, CancellationToken cancellationToken = default)
    {
        var state = State(partition);
        while (state.Position is null)
        {
            await InitializePositionsAsync(cancellationToken).ConfigureAwait(false);
            if (state.Position is null)
            {
                await Task.Delay(_options.RetryBackoff, _cluster.Time, cancellationToken).ConfigureAwait(false);
            }
        }

        return state.Position.Value;
    }

    /// <summary>The group's committed offsets (OffsetFetch with RequireStable, KIP-447); null for a partition with
    /// no commit.</summary>
    /// <param name="partitions">The partitions to look up (assigned or not).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Partition → committed offset, or null.</returns>
    /// <exception cref="InvalidOperationException">No <c>group.id</c>.</exception>
    public async Task<IReadOnlyDictionary<TopicPartition, OffsetAndMetadata?>> CommittedAsync(
        IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var groupId = _options.GroupId ?? throw new InvalidOperationException("CommittedAsync requires group.id.");
        return await ConsumerCoordinator.FetchCommittedAsync(_groupCluster!, groupId, partitions.ToList(),
            requireStable: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Commits the current position of every assigned partition whose position is known.</summary>
    /// <param name="cancellationToken">Cancels the wait (the commit may still take effect).</param>
    /// <returns>The committed offsets.</returns>
    /// <exception cref="KafkaException">The commit failed; REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION /
    /// UNKNOWN_MEMBER_ID mean the group rebalanced and the partitions may belong to another member now.</exception>
    public async Task<IReadOnlyDictionary<TopicPartition, OffsetAndMetadata>> CommitAsync(
        CancellationToken cancellationToken = default)
    {
        var offsets = CurrentPositions(_assignment.Keys);
        await CommitAsync(offsets, cancellationToken).ConfigureAwait(false);
        return offsets;
    }

    /// <summary>Commits the given offsets (each the next offset to consume, i.e. a position).</summary>
    /// <param name="offsets">Partition → offset to commit.</param>
    /// <param name="cancellationToken">Cancels the wait (the commit may still take effect).</param>
    /// <returns>A task completing when the coordinator accepted every offset.</returns>
    /// <exception cref="KafkaException">As for <see cref="CommitAsync(CancellationToken)"/>.</exception>
    public Task CommitAsync(
        IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_groupCluster is null)
        {
            throw new InvalidOperationException("Committing offsets requires group.id.");
        }

        return MeasuredCommitAsync(_groupCluster, offsets, cancellationToken);
    }

    /// <summary>The commit with its metric and activity (Java's ConsumerCoordinator records commit-latency when the
    /// OffsetCommit completes successfully; failures are not part of the latency).</summary>
    private async Task MeasuredCommitAsync(
        KafkaCluster groupCluster, IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets,
        CancellationToken cancellationToken)
    {
        var diagnostics = _cluster.Diagnostics;
        using var activity = diagnostics.ActivitySource.StartActivity("Lockstep.Client.CommitOffsets");
        activity?.SetTag(ClientDiagnostics.ClientIdTag, _options.ClientId);
        activity?.SetTag("messaging.consumer.group.name", _options.GroupId);
        var start = _cluster.Time.GetTimestamp();
        await ConsumerCoordinator.CommitAsync(groupCluster, _options, _subscription is null ? null : _coordinator,
            offsets, cancellationToken).ConfigureAwait(false);
        diagnostics.CommitLatency.Record(_cluster.Time.GetElapsedTime(start).TotalMilliseconds,
            ClientDiagnostics.ClientTags(_options.ClientId));
    }

    /// <summary>
    /// Waits for the next record: joins or rebalances the group when needed, initialises positions, fetches from
    /// the partition leaders and returns records one at a time in offset order per partition.
    /// </summary>
    /// <param name="cancellationToken">The only way to stop waiting when no record arrives.</param>
    /// <returns>The next record.</returns>
    /// <exception cref="KafkaException">A non-retriable error (authorization, OFFSET_OUT_OF_RANGE with
    /// <c>auto.offset.reset=none</c>, a fatal group error).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public async Task<ConsumeResult> ConsumeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_coordinator is not null && _subscription is not null)
            {
                await _coordinator.PollAsync(_subscription, _listener, cancellationToken).ConfigureAwait(false);
            }

            await MaybeAutoCommitAsync(cancellationToken).ConfigureAwait(false);
            if (TryTakeBuffered(out var record))
            {
                return record;
            }

            await InitializePositionsAsync(cancellationToken).ConfigureAwait(false);
            if (!await FetchOnceAsync(cancellationToken).ConfigureAwait(false))
            {
                // Nothing to fetch (no assignment, all paused, or no leader yet): don't spin.
                await Task.Delay(_options.RetryBackoff, _cluster.Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The consume loop as an async stream: <c>await foreach (var r in consumer.ConsumeAllAsync(ct))</c>.
    /// Ends only by cancellation (which ends the loop quietly) or an exception.</summary>
    /// <param name="cancellationToken">Stops the loop.</param>
    /// <returns>Records as they arrive.</returns>
    public async IAsyncEnumerable<ConsumeResult> ConsumeAllAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ConsumeResult record;
            try
            {
                record = await ConsumeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            yield return record;
        }
    }

    /// <summary>Leaves the group (dynamic members; commits first when auto-commit is on) and closes connections.</summary>
    /// <returns>A task completing when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _cluster.Time);
        try
        {
            if (_options.EnableAutoCommit && _groupCluster is not null)
            {
                await CommitAsync(CurrentPositions(_assignment.Keys), timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
        {
            ConsumerLog.AutoCommitFailed(_logger, _options.GroupId ?? string.Empty, ex.Message);
        }

        if (_coordinator is not null)
        {
            try
            {
                await _coordinator.LeaveAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Best effort; the session timeout evicts the member.
            }

            await _coordinator.DisposeAsync().ConfigureAwait(false);
        }

        if (_groupCluster is not null)
        {
            await _groupCluster.DisposeAsync().ConfigureAwait(false);
        }

        await _cluster.DisposeAsync().ConfigureAwait(false);
    }

    private PartitionFetchState State(TopicPartition partition) =>
        _assignment.TryGetValue(partition, out var state)
            ? state
            : throw new InvalidOperationException($"Partition {partition} is not assigned to this consumer.");

    private Dictionary<TopicPartition, OffsetAndMetadata> CurrentPositions(IEnumerable<TopicPartition> partitions)
    {
        var offsets = new Dictionary<TopicPartition, OffsetAndMetadata>();
        foreach (var partition in partitions)
        {
            if (_assignment.TryGetValue(partition, out var state) && state.Position is { } position)
            {
                offsets[partition] = new OffsetAndMetadata(position, null, state.LeaderEpoch);
            }
        }

        return offsets;
    }

    private bool TryTakeBuffered(out ConsumeResult record)
    {
        // Drain the partition we returned from last before moving on, then the others in turn.
        if (_current is { } current && _assignment.TryGetValue(current, out var state) && !state.Paused
            && state.Buffered.TryDequeue(out record!))
        {
            state.LeaderEpoch = record.LeaderEpoch;
            CountConsumed(current);
            return true;
        }

        foreach (var (partition, candidate) in _assignment)
        {
            if (!candidate.Paused && candidate.Buffered.TryDequeue(out record!))
            {
                candidate.LeaderEpoch = record.LeaderEpoch;
                _current = partition;
                CountConsumed(partition);
                return true;
            }
        }

        record = null!;
        return false;
    }

    /// <summary>Counts a record handed to the application. Java counts records-consumed when the fetch collector
    /// drains them into a poll result, not when fetched: records dropped by a seek are not "consumed".</summary>
    private void CountConsumed(TopicPartition partition)
    {
        var consumed = _cluster.Diagnostics.RecordsConsumed;
        if (consumed.Enabled)
        {
            consumed.Add(1, ClientDiagnostics.TopicTags(_options.ClientId, partition.Topic));
        }
    }

    private async Task MaybeAutoCommitAsync(CancellationToken cancellationToken)
    {
        if (!_options.EnableAutoCommit || _groupCluster is null
            || _cluster.Time.GetElapsedTime(_lastAutoCommit) < _options.AutoCommitInterval)
        {
            return;
        }

        _lastAutoCommit = _cluster.Time.GetTimestamp();
        try
        {
            await CommitAsync(CurrentPositions(_assignment.Keys), cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex)
        {
            // Auto-commit is best effort, as in Java; the next interval retries.
            ConsumerLog.AutoCommitFailed(_logger, _options.GroupId ?? string.Empty, ex.Message);
        }
    }

    private async Task<int?> PartitionCountAsync(string topic, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(TimeSpan.FromTicks(Math.Min(_options.RequestTimeout.Ticks, TimeSpan.FromSeconds(10).Ticks)));
        try
        {
            var metadata = await _cluster.Metadata.GetTopicAsync(topic, bound.Token).ConfigureAwait(false);
            return metadata.Partitions.Count;
        }
        catch (Exception ex) when (ex is KafkaException || (ex is OperationCanceledException
            && !cancellationToken.IsCancellationRequested))
        {
            // Java's leader also assigns nothing for a topic missing from metadata.
            return null;
        }
    }

    /// <summary>Adapts group membership events to the fetch state and the application's callbacks.</summary>
    private sealed class RebalanceListener(KafkaConsumer owner) : IRebalanceListener
    {
        public async Task OnAssignedAsync(IReadOnlyList<TopicPartition> partitions)
        {
            foreach (var partition in partitions)
            {
                owner._assignment.TryAdd(partition, new PartitionFetchState());
            }

            if (owner.PartitionsAssigned is { } callback)
            {
                await callback(partitions).ConfigureAwait(false);
            }
        }

        public async Task OnRevokedAsync(IReadOnlyList<TopicPartition> partitions)
        {
            if (owner._options.EnableAutoCommit)
            {
                try
                {
                    await owner.CommitAsync(owner.CurrentPositions(partitions)).ConfigureAwait(false);
                }
                catch (KafkaException ex)
                {
                    ConsumerLog.AutoCommitFailed(owner._logger, owner._options.GroupId ?? string.Empty, ex.Message);
                }
            }

            // The callback runs while the partitions are still assigned, so it can commit their positions.
            if (owner.PartitionsRevoked is { } callback)
            {
                await callback(partitions).ConfigureAwait(false);
            }

            Remove(partitions);
        }

        public async Task OnLostAsync(IReadOnlyList<TopicPartition> partitions)
        {
            if (owner.PartitionsLost is { } callback)
            {
                await callback(partitions).ConfigureAwait(false);
            }

            Remove(partitions);
        }

        private void Remove(IReadOnlyList<TopicPartition> partitions)
        {
            foreach (var partition in partitions)
            {
                owner._assignment.Remove(partition);
            }
        }
    }
}
