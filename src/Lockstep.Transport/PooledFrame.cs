using System;
using System.Buffers;
using System.Threading;

namespace Lockstep.Transport;

/// <summary>
/// One received Kafka frame (the bytes after the 4-byte size prefix) in contiguous memory rented from
/// <see cref="ArrayPool{T}.Shared"/>. Dispose it once decoded; the memory must not be used afterwards.
/// </summary>
public sealed class PooledFrame : IMemoryOwner<byte>
{
    private byte[]? _array;

    internal PooledFrame(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    /// <summary>The frame's length in bytes (the value of its size prefix).</summary>
    public int Length { get; }

    /// <summary>The frame bytes. Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    public Memory<byte> Memory => (_array ?? ThrowDisposed()).AsMemory(0, Length);

    /// <summary>The frame bytes as a span, e.g. for <c>new KafkaReader(frame.Span)</c>.</summary>
    public ReadOnlySpan<byte> Span => (_array ?? ThrowDisposed()).AsSpan(0, Length);

    /// <summary>Copies a fully buffered frame into pooled memory.</summary>
    internal static PooledFrame CopyOf(in ReadOnlySequence<byte> payload)
    {
        var length = checked((int)payload.Length);
        var array = length == 0 ? [] : ArrayPool<byte>.Shared.Rent(length);
        payload.CopyTo(array);
        return new PooledFrame(array, length);
    }

    /// <summary>Returns the memory to the pool. Idempotent and safe to call from any thread.</summary>
    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, null);
        if (array is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private static byte[] ThrowDisposed() => throw new ObjectDisposedException(nameof(PooledFrame));
}
