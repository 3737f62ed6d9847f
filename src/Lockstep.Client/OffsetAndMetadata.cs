namespace Lockstep.Client;

/// <summary>
/// A consumer position to commit: the offset of the <em>next</em> record to read (last processed + 1), with optional
/// metadata and the leader epoch of the last record read (KIP-320; -1 when unknown).
/// </summary>
/// <param name="Offset">The next offset to consume.</param>
/// <param name="Metadata">Free-form text stored with the commit, or null.</param>
/// <param name="LeaderEpoch">Leader epoch of the consumed record, or -1.</param>
public readonly record struct OffsetAndMetadata(long Offset, string? Metadata = null, int LeaderEpoch = -1);
