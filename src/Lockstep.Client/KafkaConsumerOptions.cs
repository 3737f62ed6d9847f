using System;
using System.Collections.Generic;

namespace Lockstep.Client;

/// <summary>
/// Consumer settings (Kafka's <c>ConsumerConfig</c> names and defaults, Kafka 4.x, except where noted) on top of
/// <see cref="KafkaClientOptions"/>.
/// </summary>
public sealed class KafkaConsumerOptions : KafkaClientOptions
{
    /// <summary>Creates options from Kafka-named settings; unknown keys are rejected.</summary>
    /// <param name="config">Settings such as <c>bootstrap.servers</c>, <c>group.id</c>, <c>isolation.level</c>.</param>
    /// <returns>The options.</returns>
    public static KafkaConsumerOptions FromConfig(IEnumerable<KeyValuePair<string, string>> config)
    {
        var options = new KafkaConsumerOptions();
        options.SetAll(config);
        return options;
    }

    /// <summary><c>group.id</c>: the consumer group. Required for <see cref="KafkaConsumer.Subscribe"/> and for
    /// committing offsets; null for a purely manual (<see cref="KafkaConsumer.Assign"/>) consumer.</summary>
    public string? GroupId { get; set; }

    /// <summary><c>group.instance.id</c> (KIP-345 static membership): a stable identity that survives restarts, so
    /// a bounce within <see cref="SessionTimeout"/> causes no rebalance. Static members do not send LeaveGroup on
    /// dispose, as in Java.</summary>
    public string? GroupInstanceId { get; set; }

    /// <summary><c>isolation.level</c> (default <b>read_committed</b>, unlike Java's read_uncommitted): the
    /// consumer of a transactional pipeline must never see aborted records, and librdkafka and kafkajs default to
    /// read_committed too (client-compat.md).</summary>
    public KafkaConsumerIsolationLevel IsolationLevel { get; set; } = KafkaConsumerIsolationLevel.ReadCommitted;

    /// <summary><c>auto.offset.reset</c> (default latest): where to start without a committed offset, and what to
    /// do after OFFSET_OUT_OF_RANGE.</summary>
    public KafkaConsumerOffsetReset AutoOffsetReset { get; set; } = KafkaConsumerOffsetReset.Latest;

    /// <summary>
    /// <c>enable.auto.commit</c> (default <b>false</b>, unlike Java's true). Auto-commit commits whatever was
    /// returned by the last consume call on a timer, i.e. records the application may not have processed yet; a
    /// crash then loses them (at-most-once). Lockstep targets exactly-once pipelines, where offsets are committed
    /// explicitly — with <see cref="KafkaConsumer.CommitAsync(System.Threading.CancellationToken)"/> after
    /// processing, or through the producer's transaction. When true, positions are committed every
    /// <see cref="AutoCommitInterval"/> from the consume loop and before a rebalance revokes partitions.
    /// </summary>
    public bool EnableAutoCommit { get; set; }

    /// <summary><c>auto.commit.interval.ms</c> (default 5 s): the auto-commit period.</summary>
    public TimeSpan AutoCommitInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary><c>session.timeout.ms</c> (default 45 s): the coordinator evicts the member when no heartbeat
    /// arrives for this long.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary><c>heartbeat.interval.ms</c> (default 3 s): how often the background heartbeat runs; must be below
    /// <see cref="SessionTimeout"/> (Kafka recommends a third of it).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary><c>max.poll.interval.ms</c> (default 5 min): the longest allowed gap between consume calls. Beyond
    /// it the member leaves the group (its partitions go to others) and rejoins on the next consume call. Also the
    /// JoinGroup rebalance timeout.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>fetch.min.bytes</c> (default 1): the broker holds a Fetch until this much data is available or
    /// <see cref="FetchMaxWait"/> passes.</summary>
    public int FetchMinBytes { get; set; } = 1;

    /// <summary><c>fetch.max.wait.ms</c> (default 500 ms): the longest the broker holds a Fetch.</summary>
    public TimeSpan FetchMaxWait { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary><c>fetch.max.bytes</c> (default 50 MiB): response size limit per Fetch (at least one batch is
    /// always returned, KIP-74).</summary>
    public int FetchMaxBytes { get; set; } = 50 * 1024 * 1024;

    /// <summary><c>max.partition.fetch.bytes</c> (default 1 MiB): per-partition response size limit.</summary>
    public int MaxPartitionFetchBytes { get; set; } = 1024 * 1024;

    /// <summary><c>partition.assignment.strategy</c> (default cooperative-sticky): the assignor this member
    /// proposes; <c>range</c> and <c>cooperative-sticky</c> are supported (Java class names are accepted too).</summary>
    public KafkaConsumerAssignmentStrategy PartitionAssignmentStrategy { get; set; } =
        KafkaConsumerAssignmentStrategy.CooperativeSticky;

    /// <inheritdoc/>
    protected override bool TrySetCore(string key, string value)
    {
        switch (key)
        {
            case "group.id": GroupId = value.Length == 0 ? null : value; return true;
            case "group.instance.id": GroupInstanceId = value.Length == 0 ? null : value; return true;
            case "isolation.level":
                IsolationLevel = value.ToUpperInvariant() switch
                {
                    "READ_COMMITTED" => KafkaConsumerIsolationLevel.ReadCommitted,
                    "READ_UNCOMMITTED" => KafkaConsumerIsolationLevel.ReadUncommitted,
                    _ => throw new FormatException("expected read_committed or read_uncommitted."),
                };
                return true;
            case "auto.offset.reset":
                AutoOffsetReset = value.ToUpperInvariant() switch
                {
                    "EARLIEST" => KafkaConsumerOffsetReset.Earliest,
                    "LATEST" => KafkaConsumerOffsetReset.Latest,
                    "NONE" => KafkaConsumerOffsetReset.None,
                    _ => throw new FormatException("expected earliest, latest or none."),
                };
                return true;
            case "enable.auto.commit": EnableAutoCommit = ParseBool(value); return true;
            case "auto.commit.interval.ms": AutoCommitInterval = ParseMs(value); return true;
            case "session.timeout.ms": SessionTimeout = ParseMs(value); return true;
            case "heartbeat.interval.ms": HeartbeatInterval = ParseMs(value); return true;
            case "max.poll.interval.ms": MaxPollInterval = ParseMs(value); return true;
            case "fetch.min.bytes": FetchMinBytes = ParseInt(value); return true;
            case "fetch.max.wait.ms": FetchMaxWait = ParseMs(value); return true;
            case "fetch.max.bytes": FetchMaxBytes = ParseInt(value); return true;
            case "max.partition.fetch.bytes": MaxPartitionFetchBytes = ParseInt(value); return true;
            case "partition.assignment.strategy":
                PartitionAssignmentStrategy = value switch
                {
                    "range" or "org.apache.kafka.clients.consumer.RangeAssignor" => KafkaConsumerAssignmentStrategy.Range,
                    "cooperative-sticky" or "org.apache.kafka.clients.consumer.CooperativeStickyAssignor" =>
                        KafkaConsumerAssignmentStrategy.CooperativeSticky,
                    _ => throw new FormatException("expected range or cooperative-sticky."),
                };
                return true;
            default: return base.TrySetCore(key, value);
        }
    }

    /// <summary>A copy for the group-coordinator connections: JoinGroup may be held for the whole rebalance
    /// timeout, so its request timeout is max.poll.interval.ms + 5 s (Java's AbstractCoordinator does the same).
    /// </summary>
    internal KafkaConsumerOptions CloneForGroupCoordinator()
    {
        var copy = (KafkaConsumerOptions)MemberwiseClone();
        var joinTimeout = MaxPollInterval + TimeSpan.FromSeconds(5);
        if (copy.RequestTimeout < joinTimeout)
        {
            copy.RequestTimeout = joinTimeout;
        }

        return copy;
    }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatInterval >= SessionTimeout)
        {
            throw new ArgumentException("heartbeat.interval.ms must be positive and below session.timeout.ms.");
        }

        if (GroupInstanceId is not null && GroupId is null)
        {
            throw new ArgumentException("group.instance.id requires group.id.");
        }

        if (FetchMinBytes < 0 || FetchMaxBytes <= 0 || MaxPartitionFetchBytes <= 0)
        {
            throw new ArgumentException(
                "fetch.min.bytes must be >= 0; fetch.max.bytes and max.partition.fetch.bytes must be positive.");
        }

        if (MaxPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("max.poll.interval.ms must be positive.");
        }
    }
}
