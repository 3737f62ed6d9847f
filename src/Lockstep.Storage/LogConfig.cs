using System;

namespace Lockstep.Storage;

/// <summary>
/// Per-partition log settings. Property names follow Kafka's topic configs with units last
/// (<c>segment.bytes</c> → <see cref="SegmentBytes"/>) so that the broker can map CreateTopics/DescribeConfigs
/// entries one to one; defaults are Kafka's.
/// </summary>
public sealed record LogConfig
{
    /// <summary>The defaults.</summary>
    public static LogConfig Default { get; } = new();

    /// <summary><c>segment.bytes</c>: roll to a new segment when the active one would grow past this size.</summary>
    public int SegmentBytes { get; init; } = 1024 * 1024 * 1024;

    /// <summary>
    /// <c>segment.ms</c>: roll a non-empty active segment whose first batch's max timestamp is this old (Kafka's
    /// <c>LogSegment.shouldRoll</c>), so that time retention can delete data of quiet partitions.
    /// </summary>
    public long SegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary><c>index.interval.bytes</c>: bytes of batches between two sparse offset/time index entries.</summary>
    public int IndexIntervalBytes { get; init; } = 4096;

    /// <summary>
    /// <c>retention.ms</c>: delete inactive segments whose newest timestamp is older than this; -1 keeps forever.
    /// </summary>
    public long RetentionMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>
    /// <c>retention.bytes</c>: delete the oldest inactive segment while the rest of the log would still hold at least
    /// this many bytes (Kafka's rule, so the log stays between the limit and the limit plus a segment); -1 = no limit.
    /// </summary>
    public long RetentionBytes { get; init; } = -1;

    /// <summary>Whether acknowledgements wait for fsync (the default) or only for the OS write.</summary>
    public Durability Durability { get; init; } = Durability.Fsync;

    /// <summary>Throws <see cref="ArgumentException"/> when a value is outside what the log supports.</summary>
    public void Validate()
    {
        // Index entries hold 32-bit positions, and a segment must fit at least a batch header.
        if (SegmentBytes < 1024)
        {
            throw new ArgumentException($"segment.bytes must be at least 1024, was {SegmentBytes}.");
        }

        if (SegmentMs <= 0)
        {
            throw new ArgumentException($"segment.ms must be positive, was {SegmentMs}.");
        }

        if (IndexIntervalBytes < 0)
        {
            throw new ArgumentException($"index.interval.bytes must not be negative, was {IndexIntervalBytes}.");
        }

        if (RetentionMs < -1 || RetentionBytes < -1)
        {
            throw new ArgumentException("retention.ms and retention.bytes must be -1 (unlimited) or non-negative.");
        }
    }
}
