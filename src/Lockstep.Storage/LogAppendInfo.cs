namespace Lockstep.Storage;

/// <summary>The outcome of <see cref="PartitionLog.Append"/>: what the produce response reports.</summary>
/// <param name="BaseOffset">Offset assigned to the batch's first record.</param>
/// <param name="LastOffset">Offset of the batch's last record; the log end offset is now <c>LastOffset + 1</c>.</param>
/// <param name="LogAppendTimeMs">
/// The broker time written into the batch when log-append time was requested; -1 otherwise (Kafka's
/// <c>ProduceResponse.LogAppendTimeMs</c> convention for CreateTime topics).
/// </param>
/// <param name="LogStartOffset">The log start offset at the time of the append (Produce v5+ reports it).</param>
public readonly record struct LogAppendInfo(
    long BaseOffset,
    long LastOffset,
    long LogAppendTimeMs,
    long LogStartOffset);
