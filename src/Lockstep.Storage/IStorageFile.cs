using System;

namespace Lockstep.Storage;

/// <summary>
/// An open file with positional reads and writes. Implementations must allow <see cref="Read"/> to run
/// concurrently with <see cref="Write"/> on a region that is not being written (the log reads published batches
/// while the writer appends after them); writes to one file are serialized by the caller.
/// </summary>
public interface IStorageFile : IDisposable
{
    /// <summary>The file's current length in bytes, including bytes not yet flushed to disk.</summary>
    long Length { get; }

    /// <summary>
    /// Reads up to <c>buffer.Length</c> bytes at <paramref name="position"/>; returns the number read, which is
    /// smaller only at the end of the file.
    /// </summary>
    int Read(long position, Span<byte> buffer);

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="position"/>, extending the file if needed. The bytes reach
    /// the OS (visible to readers) but are durable only after <see cref="FlushToDisk"/>. A failed write may leave a
    /// prefix of <paramref name="data"/> behind (a torn write); the caller decides whether to truncate it.
    /// </summary>
    void Write(long position, ReadOnlySpan<byte> data);

    /// <summary>Appends <paramref name="data"/> at the current end of the file (see <see cref="Write"/>).</summary>
    void Append(ReadOnlySpan<byte> data);

    /// <summary>Sets the file length to <paramref name="length"/>, discarding bytes after it.</summary>
    void Truncate(long length);

    /// <summary>
    /// Makes every byte written so far durable (fsync / FlushFileBuffers). After a failure the state of unflushed
    /// bytes is unknown (the Linux "fsyncgate" lesson), so callers must not retry and assume success.
    /// </summary>
    void FlushToDisk();
}
