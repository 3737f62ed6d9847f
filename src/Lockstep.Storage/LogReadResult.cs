using System;
using System.Buffers;

namespace Lockstep.Storage;

/// <summary>
/// Whole record batches returned by <see cref="PartitionLog.Read"/>, in a buffer rented from
/// <see cref="ArrayPool{T}.Shared"/>. Dispose it once the bytes are written to the connection; the memory must not
/// be used afterwards.
/// </summary>
public sealed class LogReadResult : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;

    internal LogReadResult(byte[]? buffer, int length, long highWatermark, long logStartOffset, long logEndOffset)
    {
        _buffer = buffer;
        _length = length;
        HighWatermark = highWatermark;
        LogStartOffset = logStartOffset;
        LogEndOffset = logEndOffset;
    }

    /// <summary>
    /// The batches, back to back, exactly as stored (offsets assigned); empty when nothing was readable.
    /// </summary>
    public ReadOnlyMemory<byte> Records
    {
        get
        {
            ObjectDisposedException.ThrowIf(_buffer is null && _length > 0, this);
            return _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _length);
        }
    }

    /// <summary>The high watermark when the read happened (Fetch response <c>HighWatermark</c>).</summary>
    public long HighWatermark { get; }

    /// <summary>The log start offset when the read happened (Fetch response <c>LogStartOffset</c>).</summary>
    public long LogStartOffset { get; }

    /// <summary>The log end offset when the read happened.</summary>
    public long LogEndOffset { get; }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
