namespace Lockstep.Storage;

/// <summary>A ListOffsets answer: an offset and the timestamp that selected it.</summary>
/// <param name="Timestamp">The matching batch's max timestamp, or -1 for the earliest/latest special lookups.</param>
/// <param name="Offset">The offset a consumer should start from.</param>
public readonly record struct TimestampOffset(long Timestamp, long Offset);
