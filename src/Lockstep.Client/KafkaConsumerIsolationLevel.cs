namespace Lockstep.Client;

/// <summary><c>isolation.level</c>: which transactional records a consumer may see (KIP-98). Values are the wire
/// values of Fetch/ListOffsets <c>IsolationLevel</c>.</summary>
public enum KafkaConsumerIsolationLevel : sbyte
{
    /// <summary>Every record up to the high watermark, including those of open and aborted transactions.</summary>
    ReadUncommitted = 0,

    /// <summary>Only records below the last stable offset, with aborted transactions filtered out
    /// (kip939-spec.md §8.7).</summary>
    ReadCommitted = 1,
}
