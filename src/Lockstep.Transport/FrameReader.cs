using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;

namespace Lockstep.Transport;

/// <summary>
/// Splits a byte stream into Kafka frames: each request or response is an INT32 big-endian size followed by that
/// many bytes (https://kafka.apache.org/protocol#protocol_common). The size is validated before anything is
/// allocated for the frame, as Kafka's <c>org.apache.kafka.common.network.NetworkReceive.readFrom</c> does: a negative
/// size is malformed and a size above the limit (<c>socket.request.max.bytes</c> on the broker) is refused. Both throw
/// <see cref="KafkaProtocolException"/> whose message states the size.
/// </summary>
public static class FrameReader
{
    /// <summary>Length of the size prefix in front of every frame.</summary>
    public const int SizePrefixLength = 4;

    /// <summary>Kafka's default <c>socket.request.max.bytes</c> (100 MiB, KafkaConfig / SocketServerConfigs).</summary>
    public const int DefaultMaxFrameSize = 104_857_600;

    // The slow path starts from this much memory and doubles, so a frame's memory never exceeds twice the bytes
    // actually received (decode safety, style-guide §3.3) even when the prefix claims up to the limit.
    private const int SlowPathInitialBytes = 16 * 1024;

    /// <summary>
    /// Takes one frame from the front of <paramref name="buffer"/> if it is fully buffered. On success
    /// <paramref name="frame"/> is the payload (without the prefix) and <paramref name="buffer"/> starts after it;
    /// otherwise <paramref name="buffer"/> is unchanged and the caller reads more. Allocates nothing.
    /// </summary>
    /// <remarks>
    /// A partial frame is left in the buffer (style-guide §3.8). Over a pipe, mark it examined
    /// (<c>AdvanceTo(buffer.Start, buffer.End)</c>); the pipe's pause threshold must exceed
    /// <paramref name="maxFrameSize"/> or a larger frame can never complete. <see cref="ReadFrameAsync(PipeReader, int,
    /// CancellationToken)"/> has no such requirement.
    /// </remarks>
    /// <param name="buffer">Received bytes; advanced past the frame on success.</param>
    /// <param name="maxFrameSize">Largest payload accepted, e.g. <c>socket.request.max.bytes</c>.</param>
    /// <param name="frame">The payload, a slice of the input (valid until the input is consumed).</param>
    /// <returns>True when a whole frame was buffered.</returns>
    /// <exception cref="KafkaProtocolException">The size prefix is negative or above <paramref name="maxFrameSize"/>;
    /// raised as soon as the 4 prefix bytes are buffered.</exception>
    public static bool TryReadFrame(
        ref ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> frame)
    {
        if (!TryReadSize(buffer, maxFrameSize, out var size) || buffer.Length - SizePrefixLength < size)
        {
            frame = default;
            return false;
        }

        frame = buffer.Slice(SizePrefixLength, size);
        buffer = buffer.Slice(frame.End);
        return true;
    }

    /// <summary>Same as <see cref="TryReadFrame(ref ReadOnlySequence{byte}, int, out ReadOnlySequence{byte})"/> with
    /// <see cref="DefaultMaxFrameSize"/>.</summary>
    /// <param name="buffer">Received bytes; advanced past the frame on success.</param>
    /// <param name="frame">The payload, a slice of the input.</param>
    /// <returns>True when a whole frame was buffered.</returns>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame) =>
        TryReadFrame(ref buffer, DefaultMaxFrameSize, out frame);

    /// <summary>
    /// Reads the next frame from <paramref name="connection"/>. On a bad size prefix it aborts the connection with
    /// the exception's message as the reason, then throws. If the read is cancelled after part of a frame was
    /// consumed, the stream position is lost, so the connection is aborted too.
    /// </summary>
    /// <param name="connection">The connection to read from.</param>
    /// <param name="maxFrameSize">Largest payload accepted; the broker passes <c>socket.request.max.bytes</c>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The frame (dispose it), or null when the peer closed cleanly between frames.</returns>
    /// <exception cref="KafkaProtocolException">The size prefix is negative or above
    /// <paramref name="maxFrameSize"/>.</exception>
    /// <exception cref="ConnectionClosedException">The connection was aborted, reset, or ended inside a frame.
    /// </exception>
    public static ValueTask<PooledFrame?> ReadFrameAsync(
        IConnection connection, int maxFrameSize = DefaultMaxFrameSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return ReadFrameCoreAsync(connection.Input, maxFrameSize, connection, cancellationToken);
    }

    /// <summary>
    /// Reads the next frame from <paramref name="reader"/> into pooled contiguous memory. A frame already buffered
    /// completes synchronously with one copy. A larger frame is streamed out of the pipe as it arrives (so the pipe's
    /// back-pressure threshold can be far below the frame limit) into memory grown by doubling.
    /// </summary>
    /// <param name="reader">The input; this call is its only reader until it returns.</param>
    /// <param name="maxFrameSize">Largest payload accepted.</param>
    /// <param name="cancellationToken">Cancels the wait. Cancelling mid-frame loses the stream position: the caller
    /// must then discard the connection.</param>
    /// <returns>The frame (dispose it), or null when the input completed cleanly between frames.</returns>
    /// <exception cref="KafkaProtocolException">The size prefix is negative or above
    /// <paramref name="maxFrameSize"/>.</exception>
    /// <exception cref="ConnectionClosedException">The input ended inside a frame, or its writer failed with it.
    /// </exception>
    public static ValueTask<PooledFrame?> ReadFrameAsync(
        PipeReader reader, int maxFrameSize = DefaultMaxFrameSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return ReadFrameCoreAsync(reader, maxFrameSize, connection: null, cancellationToken);
    }

    private static async ValueTask<PooledFrame?> ReadFrameCoreAsync(
        PipeReader reader, int maxFrameSize, IConnection? connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException("The pending frame read was cancelled.");
            }

            int size;
            try
            {
                if (!TryReadSize(buffer, maxFrameSize, out size))
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (!result.IsCompleted)
                    {
                        continue;
                    }

                    if (buffer.IsEmpty)
                    {
                        return null;
                    }

                    throw new ConnectionClosedException(
                        $"The connection ended {buffer.Length} byte(s) into a {SizePrefixLength}-byte frame " +
                        "size prefix.");
                }
            }
            catch (KafkaProtocolException ex)
            {
                // Release the read before the caller tears the connection down, then abort with the size in the
                // reason (Kafka closes the channel on InvalidReceiveException, SocketServer.Processor.poll).
                reader.AdvanceTo(buffer.Start);
                connection?.Abort(ex.Message);
                throw;
            }

            var available = buffer.Length - SizePrefixLength;
            if (available >= size)
            {
                // Fast path: the whole frame is buffered; one copy, no awaits.
                var payload = buffer.Slice(SizePrefixLength, size);
                var frame = PooledFrame.CopyOf(payload);
                reader.AdvanceTo(payload.End);
                return frame;
            }

            return await ReadFrameSlowAsync(reader, result, size, connection, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async ValueTask<PooledFrame?> ReadFrameSlowAsync(
        PipeReader reader, ReadResult first, int size, IConnection? connection, CancellationToken cancellationToken)
    {
        // Consume the prefix and whatever part of the body is here, so the pipe's writer is never blocked on a
        // frame larger than its pause threshold.
        var body = first.Buffer.Slice(SizePrefixLength);
        var array = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, Math.Max(SlowPathInitialBytes, body.Length)));
        var filled = (int)body.Length;
        body.CopyTo(array);
        reader.AdvanceTo(body.End);
        var completed = first.IsCompleted;
        try
        {
            while (filled < size)
            {
                if (completed)
                {
                    throw new ConnectionClosedException(
                        $"The connection ended after {filled} of {size} bytes of a frame.");
                }

                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw new OperationCanceledException("The pending frame read was cancelled.");
                }

                var take = (int)Math.Min(buffer.Length, size - filled);
                if (filled + take > array.Length)
                {
                    array = Grow(array, filled, (int)Math.Min(size, Math.Max(2L * array.Length, filled + take)));
                }

                buffer.Slice(0, take).CopyTo(array.AsSpan(filled));
                filled += take;
                reader.AdvanceTo(buffer.GetPosition(take));
                completed = result.IsCompleted;
            }

            return new PooledFrame(array, size);
        }
        catch (OperationCanceledException)
        {
            ArrayPool<byte>.Shared.Return(array);
            connection?.Abort("A frame read was cancelled mid-frame; the stream position is lost.");
            throw;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(array);
            throw;
        }
    }

    private static byte[] Grow(byte[] array, int filled, int newSize)
    {
        var next = ArrayPool<byte>.Shared.Rent(newSize);
        array.AsSpan(0, filled).CopyTo(next);
        ArrayPool<byte>.Shared.Return(array);
        return next;
    }

    private static bool TryReadSize(in ReadOnlySequence<byte> buffer, int maxFrameSize, out int size)
    {
        if (buffer.Length < SizePrefixLength)
        {
            size = 0;
            return false;
        }

        var first = buffer.FirstSpan;
        if (first.Length >= SizePrefixLength)
        {
            size = BinaryPrimitives.ReadInt32BigEndian(first);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[SizePrefixLength];
            buffer.Slice(0, SizePrefixLength).CopyTo(prefix);
            size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        }

        // Wording follows NetworkReceive: "Invalid receive (size = N)" / "(size = N larger than M)".
        if (size < 0)
        {
            ThrowHelper.ThrowProtocol($"Invalid receive (size = {size}): a Kafka frame size cannot be negative.");
        }

        if (size > maxFrameSize)
        {
            ThrowHelper.ThrowProtocol(
                $"Invalid receive (size = {size} larger than {maxFrameSize}): the frame exceeds the maximum " +
                "frame size (socket.request.max.bytes).");
        }

        return true;
    }
}
