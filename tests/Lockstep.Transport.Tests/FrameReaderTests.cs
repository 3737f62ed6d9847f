using System.Buffers;
using System.IO.Pipelines;
using Lockstep.Protocol;

namespace Lockstep.Transport.Tests;

/// <summary>
/// Goal: the framing layer cuts a byte stream into exactly the frames that were sent, whatever the segment
/// boundaries, and rejects a hostile size prefix before allocating for it. Method: encode known payloads, feed them
/// as 1-byte segments, as prefixes, as one big buffer and through pipes, and measure this thread's allocations
/// around the rejection (Kafka's NetworkReceive checks the size before allocating; so must we).
/// </summary>
public sealed class FrameReaderTests
{
    private static readonly byte[][] MixedPayloads =
    [
        [], TestFrames.Payload(1, 1), TestFrames.Payload(2, 300), TestFrames.Payload(3, 5000),
        TestFrames.Payload(4, 4),
    ];

    [Fact]
    public void TryReadFrame_one_byte_segments_yields_every_frame_intact()
    {
        var buffer = TestFrames.Segmented(TestFrames.Encode(MixedPayloads), segmentSize: 1);

        foreach (var expected in MixedPayloads)
        {
            Assert.True(FrameReader.TryReadFrame(ref buffer, out var frame));
            Assert.Equal(expected, frame.ToArray());
        }

        Assert.True(buffer.IsEmpty);
        Assert.False(FrameReader.TryReadFrame(ref buffer, out _));
    }

    [Fact]
    public void TryReadFrame_every_prefix_of_the_stream_yields_only_complete_frames_and_leaves_the_rest()
    {
        var encoded = TestFrames.Encode(MixedPayloads);
        var frameEnds = new List<int>();
        var end = 0;
        foreach (var payload in MixedPayloads)
        {
            end += 4 + payload.Length;
            frameEnds.Add(end);
        }

        for (var length = 0; length <= encoded.Length; length++)
        {
            var buffer = TestFrames.Segmented(encoded[..length], segmentSize: 3);
            var count = 0;
            while (FrameReader.TryReadFrame(ref buffer, out var frame))
            {
                Assert.Equal(MixedPayloads[count], frame.ToArray());
                count++;
            }

            var complete = frameEnds.Count(e => e <= length);
            Assert.Equal(complete, count);
            Assert.Equal(length - (complete == 0 ? 0 : frameEnds[complete - 1]), buffer.Length);
        }
    }

    [Fact]
    public void TryReadFrame_many_frames_in_one_read_are_all_returned_in_order()
    {
        var payloads = Enumerable.Range(0, 500).Select(i => TestFrames.Payload(i, i % 97)).ToArray();
        var buffer = new ReadOnlySequence<byte>(TestFrames.Encode(payloads));

        var index = 0;
        while (FrameReader.TryReadFrame(ref buffer, out var frame))
        {
            Assert.Equal(payloads[index++], frame.ToArray());
        }

        Assert.Equal(payloads.Length, index);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void TryReadFrame_negative_size_is_malformed(int size)
    {
        var buffer = new ReadOnlySequence<byte>(TestFrames.Prefix(size));

        var ex = Assert.Throws<KafkaProtocolException>(() => FrameReader.TryReadFrame(ref buffer, out _));

        Assert.Contains($"size = {size}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadFrame_size_above_the_limit_is_rejected_from_the_prefix_alone_without_allocating_it()
    {
        // Only the 4 prefix bytes exist: the check must not wait for (or allocate) the claimed body.
        var buffer = new ReadOnlySequence<byte>(TestFrames.Prefix(FrameReader.DefaultMaxFrameSize + 1));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<KafkaProtocolException>(() => FrameReader.TryReadFrame(ref buffer, out _));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("104857601", ex.Message, StringComparison.Ordinal);
        Assert.Contains("104857600", ex.Message, StringComparison.Ordinal);
        Assert.InRange(allocated, 0, 64 * 1024); // the exception and its message, not 100 MiB
    }

    [Fact]
    public void TryReadFrame_size_equal_to_the_limit_is_accepted()
    {
        var buffer = new ReadOnlySequence<byte>(TestFrames.Encode(TestFrames.Payload(9, 10)));

        Assert.True(FrameReader.TryReadFrame(ref buffer, maxFrameSize: 10, out var frame));
        Assert.Equal(10, frame.Length);

        var over = new ReadOnlySequence<byte>(TestFrames.Encode(TestFrames.Payload(9, 11)));
        Assert.Throws<KafkaProtocolException>(() => FrameReader.TryReadFrame(ref over, maxFrameSize: 10, out _));
    }

    [Fact]
    public async Task ReadFrameAsync_bytes_arriving_one_at_a_time_yield_every_frame()
    {
        var pipe = new Pipe();
        var encoded = TestFrames.Encode(MixedPayloads);
        var producer = Task.Run(async () =>
        {
            foreach (var b in encoded)
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }

            await pipe.Writer.CompleteAsync();
        });

        foreach (var expected in MixedPayloads)
        {
            using var frame = await FrameReader.ReadFrameAsync(pipe.Reader).AsTask().WaitAsync(TestFrames.Timeout);
            Assert.NotNull(frame);
            Assert.Equal(expected, frame.Span.ToArray());
        }

        Assert.Null(await FrameReader.ReadFrameAsync(pipe.Reader).AsTask().WaitAsync(TestFrames.Timeout));
        await producer.WaitAsync(TestFrames.Timeout);
    }

    [Fact]
    public async Task ReadFrameAsync_size_above_the_limit_is_rejected_without_allocating_it()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(TestFrames.Prefix(FrameReader.DefaultMaxFrameSize + 1));

        // The prefix is already buffered, so the read completes synchronously on this thread and the allocation
        // counter sees everything it did.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = FrameReader.ReadFrameAsync(pipe.Reader);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(read.IsCompleted);
        var ex = await Assert.ThrowsAsync<KafkaProtocolException>(() => read.AsTask());
        Assert.Contains("104857601", ex.Message, StringComparison.Ordinal);
        Assert.InRange(allocated, 0, 64 * 1024);
    }

    [Fact]
    public async Task ReadFrameAsync_large_claimed_size_with_few_bytes_allocates_for_the_bytes_not_the_claim()
    {
        // 50 MB is under the limit, so the prefix is legal; but only 100 bytes follow before end of stream.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(TestFrames.Prefix(50_000_000));
        await pipe.Writer.WriteAsync(TestFrames.Payload(5, 100));
        await pipe.Writer.CompleteAsync();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = FrameReader.ReadFrameAsync(pipe.Reader);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(read.IsCompleted);
        var ex = await Assert.ThrowsAsync<ConnectionClosedException>(() => read.AsTask());
        Assert.Contains("100 of 50000000", ex.Message, StringComparison.Ordinal);
        Assert.InRange(allocated, 0, 1024 * 1024);
    }

    [Fact]
    public async Task ReadFrameAsync_frame_larger_than_the_pipe_pause_threshold_streams_through()
    {
        // TryReadFrame over this pipe would deadlock (the writer pauses at 8 KiB unconsumed); ReadFrameAsync
        // consumes the body as it arrives.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 8192, resumeWriterThreshold: 4096));
        var payload = TestFrames.Payload(6, 1024 * 1024);
        var encoded = TestFrames.Encode(payload, TestFrames.Payload(7, 3));
        var producer = Task.Run(async () =>
        {
            for (var offset = 0; offset < encoded.Length; offset += 1000)
            {
                await pipe.Writer.WriteAsync(encoded.AsMemory(offset, Math.Min(1000, encoded.Length - offset)));
            }

            await pipe.Writer.CompleteAsync();
        });

        using (var frame = await FrameReader.ReadFrameAsync(pipe.Reader).AsTask().WaitAsync(TestFrames.Timeout))
        {
            Assert.NotNull(frame);
            Assert.True(frame.Span.SequenceEqual(payload));
        }

        using (var next = await FrameReader.ReadFrameAsync(pipe.Reader).AsTask().WaitAsync(TestFrames.Timeout))
        {
            Assert.Equal(TestFrames.Payload(7, 3), next!.Span.ToArray());
        }

        await producer.WaitAsync(TestFrames.Timeout);
    }

    [Fact]
    public async Task ReadFrameAsync_end_of_stream_inside_the_prefix_is_a_closed_connection()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0 });
        await pipe.Writer.CompleteAsync();

        var ex = await Assert.ThrowsAsync<ConnectionClosedException>(
            () => FrameReader.ReadFrameAsync(pipe.Reader).AsTask());
        Assert.Contains("2 byte(s) into", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFrameAsync_cancellation_while_waiting_throws_OperationCanceledException()
    {
        var pipe = new Pipe();
        using var cts = new CancellationTokenSource();
        var read = FrameReader.ReadFrameAsync(pipe.Reader, cancellationToken: cts.Token).AsTask();
        Assert.False(read.IsCompleted);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TestFrames.Timeout));
    }

    [Fact]
    public void PooledFrame_use_after_dispose_throws_and_dispose_is_idempotent()
    {
        var frame = new PooledFrame(ArrayPool<byte>.Shared.Rent(8), 8);
        Assert.Equal(8, frame.Memory.Length);

        frame.Dispose();
        frame.Dispose();

        Assert.Throws<ObjectDisposedException>(() => frame.Memory);
    }
}
