using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Transport;

/// <summary>
/// Writes length-prefixed Kafka frames (INT32 big-endian size, then the payload) into a pipe or any
/// <see cref="IBufferWriter{T}"/>. Nothing here flushes except <see cref="WriteFrameAndFlushAsync"/>, so a
/// session can batch several responses into one flush.
/// </summary>
/// <remarks>
/// Why the callback overload copies once: the size prefix must precede the payload, but the payload's size is
/// known only after encoding. The "reserve 4 bytes, encode, patch" trick is not allowed on a
/// <see cref="PipeWriter"/>: memory returned by <c>GetSpan</c>/<c>GetMemory</c> must not be touched after
/// <c>Advance</c>, and an encoder spanning several segments advances many times. So the payload is encoded into a
/// per-thread pooled scratch buffer and copied once behind its prefix. One memcpy of a frame is small next to the
/// encode itself and the socket send; when messages can compute their size up front, callers can write
/// <see cref="WriteSizePrefix"/> and encode straight into the pipe with no copy.
/// </remarks>
public static class FrameWriter
{
    // Scratch writers that grew beyond this are returned to the pool instead of being kept per thread, so one
    // 100 MiB frame does not pin 100 MiB on a thread forever.
    private const int ScratchRetainLimitBytes = 1024 * 1024;

    [ThreadStatic]
    private static PooledBufferWriter? _threadScratch;

    /// <summary>Writes the 4-byte size prefix for a payload of <paramref name="payloadLength"/> bytes that the
    /// caller writes next.</summary>
    /// <param name="output">The destination.</param>
    /// <param name="payloadLength">The exact payload length that will follow.</param>
    public static void WriteSizePrefix(IBufferWriter<byte> output, int payloadLength)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(FrameReader.SizePrefixLength), payloadLength);
        output.Advance(FrameReader.SizePrefixLength);
    }

    /// <summary>Writes an already encoded payload as one frame.</summary>
    /// <param name="output">The destination, e.g. <see cref="IConnection.Output"/>.</param>
    /// <param name="payload">The frame payload (without prefix).</param>
    public static void WriteFrame(IBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        WriteSizePrefix(output, payload.Length);
        output.Write(payload);
    }

    /// <summary>Writes an already encoded, possibly segmented payload as one frame (e.g. a relayed frame).</summary>
    /// <param name="output">The destination.</param>
    /// <param name="payload">The frame payload (without prefix); at most <see cref="int.MaxValue"/> bytes.</param>
    public static void WriteFrame(IBufferWriter<byte> output, in ReadOnlySequence<byte> payload)
    {
        WriteSizePrefix(output, checked((int)payload.Length));
        foreach (var segment in payload)
        {
            output.Write(segment.Span);
        }
    }

    /// <summary>
    /// Encodes a payload with <paramref name="writeBody"/> and writes it as one frame (see the type remarks for why
    /// this costs one copy). Nothing reaches <paramref name="output"/> if <paramref name="writeBody"/> throws.
    /// </summary>
    /// <typeparam name="TState">The state passed to <paramref name="writeBody"/>.</typeparam>
    /// <param name="output">The destination.</param>
    /// <param name="state">Passed to <paramref name="writeBody"/>; use a static lambda to avoid a closure.</param>
    /// <param name="writeBody">Writes the payload; it must not keep the buffer writer.</param>
    /// <returns>The payload length written.</returns>
    public static int WriteFrame<TState>(IBufferWriter<byte> output, TState state, FrameBodyWriter<TState> writeBody)
        where TState : allows ref struct
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(writeBody);

        // Take the thread's scratch (a nested call, e.g. from inside writeBody, gets a fresh one).
        var scratch = _threadScratch ?? new PooledBufferWriter(4096);
        _threadScratch = null;
        try
        {
            writeBody(scratch, state);
            WriteFrame(output, scratch.WrittenSpan);
            return scratch.WrittenCount;
        }
        finally
        {
            if (scratch.WrittenCount <= ScratchRetainLimitBytes)
            {
                scratch.Clear();
                _threadScratch = scratch;
            }
            else
            {
                scratch.Dispose();
            }
        }
    }

    /// <summary>Writes one already encoded frame and flushes; the convenience path for a single request.</summary>
    /// <param name="output">The destination.</param>
    /// <param name="payload">The frame payload (without prefix).</param>
    /// <param name="cancellationToken">Cancels a flush waiting on back-pressure.</param>
    /// <returns>The flush result; <see cref="FlushResult.IsCompleted"/> means the reader is gone.</returns>
    public static ValueTask<FlushResult> WriteFrameAndFlushAsync(
        PipeWriter output, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        WriteFrame(output, payload.Span);
        return output.FlushAsync(cancellationToken);
    }
}
