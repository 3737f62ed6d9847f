using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Benchmarks.Codec;

/// <summary>
/// The encode and decode steps every Codec benchmark measures, written once so the four message benchmarks
/// differ only in the message they build.
/// </summary>
internal static class MessageCodec
{
    /// <summary>
    /// Encodes <paramref name="message"/> into <paramref name="buffer"/>, which is cleared first and reused across
    /// iterations, so the allocation column measures the encoder and not the output buffer.
    /// </summary>
    public static int Encode<T>(T message, PooledBufferWriter buffer, short version)
        where T : IKafkaMessage<T>
    {
        buffer.Clear();
        var writer = new KafkaWriter(buffer);
        message.Write(ref writer, version);
        writer.Flush();
        return buffer.WrittenCount;
    }

    /// <summary>
    /// Decodes a message from <paramref name="frame"/>. The reader is built over memory, as the transport hands
    /// over a whole frame, so RECORDS fields are slices of the frame rather than copies.
    /// </summary>
    public static T Decode<T>(ReadOnlyMemory<byte> frame, short version)
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(frame);
        var message = T.Read(ref reader, version);
        if (!reader.End)
        {
            reader.ExpectEnd(typeof(T).Name);
        }

        return message;
    }

    /// <summary>
    /// Setup-time sanity check: decoding the encoded bytes and encoding again must give the same bytes, so a
    /// benchmark never times an encoder that silently drops data.
    /// </summary>
    public static byte[] EncodeAndVerify<T>(T message, short version)
        where T : IKafkaMessage<T>
    {
        var first = BenchmarkData.Encode(message, version);
        var second = BenchmarkData.Encode(Decode<T>(first, version), version);
        if (!first.AsSpan().SequenceEqual(second))
        {
            throw new InvalidOperationException(
                $"{typeof(T).Name} v{version} does not round-trip ({first.Length} vs {second.Length} bytes).");
        }

        Console.WriteLine($"// {typeof(T).Name} v{version}: {first.Length} bytes encoded");
        return first;
    }
}
