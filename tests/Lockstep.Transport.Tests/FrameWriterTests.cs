using System.Buffers;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Transport.Tests;

/// <summary>
/// Goal: every FrameWriter overload emits exactly [INT32 big-endian size][payload] and the callback overload's
/// scratch buffer does not leak bytes between frames. Method: compare against hand-built bytes and read back with
/// FrameReader.
/// </summary>
public sealed class FrameWriterTests
{
    [Fact]
    public void WriteFrame_span_writes_big_endian_size_then_payload()
    {
        var output = new ArrayBufferWriter<byte>();

        FrameWriter.WriteFrame(output, new byte[] { 0xAA, 0xBB, 0xCC });
        FrameWriter.WriteFrame(output, ReadOnlySpan<byte>.Empty);

        Assert.Equal(new byte[] { 0, 0, 0, 3, 0xAA, 0xBB, 0xCC, 0, 0, 0, 0 }, output.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteFrame_sequence_copies_every_segment()
    {
        var payload = TestFrames.Payload(3, 1000);
        var output = new ArrayBufferWriter<byte>();

        FrameWriter.WriteFrame(output, TestFrames.Segmented(payload, segmentSize: 7));

        Assert.Equal(TestFrames.Encode(payload), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteFrame_callback_with_KafkaWriter_round_trips_through_FrameReader()
    {
        var output = new ArrayBufferWriter<byte>();

        var written = FrameWriter.WriteFrame(output, (ApiKey: (short)18, ClientId: "lockstep"), static (body, s) =>
        {
            var writer = new KafkaWriter(body);
            writer.WriteInt16(s.ApiKey);
            writer.WriteString(s.ClientId);
            writer.Flush();
        });

        Assert.Equal(2 + 2 + 8, written);
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(FrameReader.TryReadFrame(ref buffer, out var frame));
        var reader = new KafkaReader(frame.ToArray());
        Assert.Equal(18, reader.ReadInt16());
        Assert.Equal("lockstep", reader.ReadString());
        Assert.True(reader.End);
    }

    [Fact]
    public void WriteFrame_callback_large_then_small_frames_do_not_share_bytes()
    {
        // The 2 MiB body exceeds the scratch retention limit, so the scratch is dropped and a fresh one is used.
        var large = TestFrames.Payload(1, 2 * 1024 * 1024);
        var small = TestFrames.Payload(2, 10);
        var output = new ArrayBufferWriter<byte>();

        foreach (var payload in new[] { small, large, small, small })
        {
            FrameWriter.WriteFrame(output, payload, static (body, p) => body.Write(p));
        }

        Assert.Equal(TestFrames.Encode(small, large, small, small), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteFrame_callback_that_throws_writes_nothing_and_the_next_frame_is_clean()
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.Throws<InvalidOperationException>(() => FrameWriter.WriteFrame(output, 0, static (body, _) =>
        {
            body.Write(new byte[] { 1, 2, 3 });
            throw new InvalidOperationException("encoder failed");
        }));
        FrameWriter.WriteFrame(output, 0, static (body, _) => body.Write(new byte[] { 9 }));

        Assert.Equal(new byte[] { 0, 0, 0, 1, 9 }, output.WrittenSpan.ToArray());
    }
}
