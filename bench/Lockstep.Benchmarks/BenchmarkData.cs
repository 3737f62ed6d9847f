using System.Text;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Benchmarks;

/// <summary>
/// Deterministic inputs shared by the benchmarks: 1 KiB record values that compress like log or JSON traffic
/// (a small vocabulary, so every codec has something to do, unlike random bytes or zeros), and the ~16 KiB
/// uncompressed batch of 16 such records that the Produce and Fetch benchmarks carry per partition.
/// </summary>
public static class BenchmarkData
{
    /// <summary>Records per batch: 16 x 1 KiB values gives the 16 KiB batch issue 2 asks for.</summary>
    public const int RecordsPerBatch = 16;

    /// <summary>Size of each record value.</summary>
    public const int ValueSize = 1024;

    /// <summary>Partitions per topic in the Produce/Fetch benchmarks (1 topic x 4 partitions).</summary>
    public const int Partitions = 4;

    /// <summary>Fixed base timestamp so that encoded bytes are identical from run to run.</summary>
    public const long BaseTimestamp = 1_764_000_000_000;

    public const string Topic = "orders.events";

    public static readonly Guid TopicId = new("6f1d2c3b-4a59-4e1f-9a7b-0c8d7e6f5a41");

    private static readonly string[] Vocabulary =
    [
        "\"order\"", "\"customer\"", "\"status\"", "\"created\"", "\"shipped\"", "\"amount\"", "\"currency\"",
        "\"EUR\"", "\"USD\"", "\"items\"", "\"sku\"", "\"quantity\"", "\"warehouse\"", "\"berlin\"", "\"lyon\"",
        "true", "false", "null", "{", "}", "[", "]", ":", ",",
    ];

    /// <summary>Record keys ("key-000000" ...), one per record.</summary>
    public static byte[][] Keys { get; } = CreateKeys();

    /// <summary>Record values, <see cref="ValueSize"/> bytes each, one per record.</summary>
    public static byte[][] Values { get; } = CreateValues();

    private static byte[][] CreateKeys()
    {
        var keys = new byte[RecordsPerBatch][];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = Encoding.ASCII.GetBytes($"key-{i:D6}");
        }

        return keys;
    }

    private static byte[][] CreateValues()
    {
        var random = new Random(20261126);
        var values = new byte[RecordsPerBatch][];
        var text = new StringBuilder(ValueSize + 32);
        for (var i = 0; i < values.Length; i++)
        {
            text.Clear();
            while (text.Length < ValueSize)
            {
                // Words from a small vocabulary interleaved with numbers: compressible, but not trivially.
                text.Append(Vocabulary[random.Next(Vocabulary.Length)]);
                if (random.Next(4) == 0)
                {
                    text.Append(random.Next(100_000));
                }
            }

            values[i] = Encoding.ASCII.GetBytes(text.ToString(0, ValueSize));
        }

        return values;
    }

    /// <summary>Appends the <see cref="RecordsPerBatch"/> records to <paramref name="builder"/>.</summary>
    public static void AppendRecords(RecordBatchBuilder builder)
    {
        for (var i = 0; i < RecordsPerBatch; i++)
        {
            builder.Append(BaseTimestamp + i, Keys[i], Values[i]);
        }
    }

    /// <summary>Encodes one batch of the standard records with <paramref name="compression"/>.</summary>
    public static byte[] CreateBatch(CompressionType compression, CompressionCodecRegistry codecs)
    {
        using var builder = new RecordBatchBuilder(compression, codecs);
        AppendRecords(builder);
        return builder.ToArray();
    }

    /// <summary>Encodes a message at <paramref name="version"/> into a new array.</summary>
    public static byte[] Encode<T>(T message, short version)
        where T : Lockstep.Protocol.Messages.IKafkaMessage<T>
    {
        using var buffer = new PooledBufferWriter(64 * 1024);
        var writer = new KafkaWriter(buffer);
        message.Write(ref writer, version);
        writer.Flush();
        return buffer.ToArray();
    }
}
