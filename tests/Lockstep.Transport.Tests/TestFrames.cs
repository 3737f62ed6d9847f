using System.Buffers;
using System.Buffers.Binary;

namespace Lockstep.Transport.Tests;

/// <summary>Frame fixtures and small async helpers shared by the transport tests. Every wait here is bounded.</summary>
internal static class TestFrames
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A deterministic payload of <paramref name="length"/> bytes, different per <paramref name="seed"/>.
    /// </summary>
    public static byte[] Payload(int seed, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)((seed * 31) + (i * 7) + (i >> 8));
        }

        return bytes;
    }

    /// <summary>Size-prefixed encoding of each payload, concatenated.</summary>
    public static byte[] Encode(params byte[][] payloads)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var payload in payloads)
        {
            FrameWriter.WriteFrame(output, payload);
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>Just a size prefix, e.g. a hostile one.</summary>
    public static byte[] Prefix(int size)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, size);
        return bytes;
    }

    /// <summary>The bytes as a sequence of segments of at most <paramref name="segmentSize"/> bytes each.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] data, int segmentSize)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < data.Length; offset += segmentSize)
        {
            var memory = data.AsMemory(offset, Math.Min(segmentSize, data.Length - offset));
            var segment = new Segment(memory, offset);
            if (first is null)
            {
                first = segment;
            }
            else
            {
                last!.SetNext(segment);
            }

            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>Completes when <paramref name="connection"/>'s Closed token fires; throws after the timeout.</summary>
    public static Task WhenClosedAsync(this IConnection connection)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), closed);
        return closed.Task.WaitAsync(Timeout);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
