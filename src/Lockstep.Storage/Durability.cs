namespace Lockstep.Storage;

/// <summary>When an append counts as done for acks=1/all (issue 3: durable by default).</summary>
public enum Durability
{
    /// <summary>
    /// An append is acknowledged, and the high watermark moves past it, only after an fsync covering it
    /// (group commit through <see cref="LogFlusher"/>). Acknowledged data survives power loss.
    /// </summary>
    Fsync = 0,

    /// <summary>
    /// An append is acknowledged as soon as it is written to the OS page cache, Kafka's default
    /// (<c>flush.messages</c>/<c>flush.ms</c> unset). Survives a process crash, not a power loss.
    /// </summary>
    OsFlush = 1,
}
