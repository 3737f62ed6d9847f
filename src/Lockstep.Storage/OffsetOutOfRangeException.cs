using System;

namespace Lockstep.Storage;

/// <summary>
/// A read or DeleteRecords named an offset outside <c>[LogStartOffset, LogEndOffset]</c> (or past the high
/// watermark for DeleteRecords). The broker answers OFFSET_OUT_OF_RANGE (error code 1).
/// </summary>
public sealed class OffsetOutOfRangeException : Exception
{
    /// <summary>Creates the exception with a message naming the offset and the valid range.</summary>
    public OffsetOutOfRangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public OffsetOutOfRangeException()
        : base("Offset out of range.")
    {
    }

    /// <summary>Creates the exception wrapping a lower-level failure.</summary>
    public OffsetOutOfRangeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
