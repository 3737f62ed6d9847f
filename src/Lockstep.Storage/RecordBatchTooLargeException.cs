using System;

namespace Lockstep.Storage;

/// <summary>
/// A well-formed batch does not fit in one segment (<c>segment.bytes</c>); Kafka answers RECORD_LIST_TOO_LARGE
/// (error code 18) in this case (<c>UnifiedLog.analyzeAndValidateRecords</c>).
/// </summary>
public sealed class RecordBatchTooLargeException : Exception
{
    /// <summary>Creates the exception with a message giving the batch and limit sizes.</summary>
    public RecordBatchTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public RecordBatchTooLargeException()
        : base("Record batch too large.")
    {
    }

    /// <summary>Creates the exception wrapping a lower-level failure.</summary>
    public RecordBatchTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
