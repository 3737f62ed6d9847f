using System.Text;
using Confluent.Kafka;
using Lockstep.Broker;
using Lockstep.Client.Admin;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using Lockstep.Testing;
using static Lockstep.Client.Tests.Harness.TestToken;
using LockstepCodec = Lockstep.Protocol.Records.CompressionType;

namespace Lockstep.Client.Tests.Interop;

/// <summary>A data record as one client saw it (partition, offset, key, value, headers in wire order).</summary>
public sealed record SeenRecord(int Partition, long Offset, string? Key, string? Value, IReadOnlyList<(string Key, string? Value)> Headers)
{
    /// <summary>Everything but the offset: what must survive the trip between two clients unchanged.</summary>
    public string Content => $"p{Partition} {Key}={Value} [{string.Join(", ", Headers.Select(h => $"{h.Key}:{h.Value ?? "<null>"}"))}]";
}

/// <summary>One stored batch's header, read back raw, to prove the codec under test really reached the log.</summary>
public sealed record StoredBatch(long BaseOffset, long LastOffset, LockstepCodec Compression, bool IsTransactional, bool IsControl);

/// <summary>
/// The embedded broker on a real loopback socket (librdkafka and child processes cannot use the in-memory network),
/// with its data in a per-test temp directory.
/// </summary>
public sealed class TcpBroker : IAsyncDisposable
{
    private readonly TempDirectory _data;

    private TcpBroker(TempDirectory data, KafkaBroker broker)
    {
        _data = data;
        Broker = broker;
    }

    public KafkaBroker Broker { get; }

    public string Bootstrap => Broker.BootstrapServers;

    public static async Task<TcpBroker> StartAsync(string prefix)
    {
        var data = new TempDirectory(prefix);
        try
        {
            var broker = await KafkaBroker.StartAsync(new BrokerOptions { DataDirectory = data.Path, Listen = "127.0.0.1:0" }, Ct);
            return new TcpBroker(data, broker);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    public async Task CreateTopicAsync(string topic, int partitions)
    {
        await using var admin = new KafkaAdminClient(new KafkaAdminClientOptions { BootstrapServers = Bootstrap });
        await admin.CreateTopicsAsync([new NewTopic(topic, partitions, 1)], cancellationToken: Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>Confluent.Kafka (librdkafka) and raw-fetch helpers shared by the interop and crash tests.</summary>
public static class InteropSupport
{
    public static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(30);

    private static readonly CompressionCodecRegistry Codecs = KafkaCompression.CreateRegistry();

    /// <summary>The five codecs of the record-batch format, as xUnit theory data.</summary>
    public static TheoryData<LockstepCodec> AllCodecs =>
        [LockstepCodec.None, LockstepCodec.Gzip, LockstepCodec.Snappy, LockstepCodec.Lz4, LockstepCodec.Zstd];

    public static Confluent.Kafka.CompressionType ToConfluent(LockstepCodec codec) => codec switch
    {
        LockstepCodec.None => Confluent.Kafka.CompressionType.None,
        LockstepCodec.Gzip => Confluent.Kafka.CompressionType.Gzip,
        LockstepCodec.Snappy => Confluent.Kafka.CompressionType.Snappy,
        LockstepCodec.Lz4 => Confluent.Kafka.CompressionType.Lz4,
        LockstepCodec.Zstd => Confluent.Kafka.CompressionType.Zstd,
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, null),
    };

    /// <summary>
    /// A value long and repetitive enough that every codec shrinks it: librdkafka sends a batch uncompressed when
    /// compression does not pay off, which would make a "compressed" test silently test nothing.
    /// </summary>
    public static string Value(string name) => name + ":" + string.Concat(Enumerable.Repeat(" lockstep-interop", 20));

    public static ConsumerConfig ConsumerConfig(string bootstrap, IsolationLevel isolation, string? groupId = null) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = groupId ?? "reader-" + Guid.NewGuid().ToString("N"),
        IsolationLevel = isolation,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        EnablePartitionEof = true,
        // librdkafka may resolve a host name to ::1 first (client-compat.md); the broker listens on IPv4.
        BrokerAddressFamily = BrokerAddressFamily.V4,
        SessionTimeoutMs = 10_000,
    };

    /// <summary>
    /// Reads partitions [0, <paramref name="partitions"/>) of <paramref name="topic"/> from the beginning with an
    /// assigned librdkafka consumer until each reports end-of-partition (the last stable offset under
    /// read_committed, so an open transaction's records are correctly not waited for).
    /// </summary>
    public static List<SeenRecord> ConfluentReadAll(string bootstrap, string topic, int partitions, IsolationLevel isolation)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ConsumerConfig(bootstrap, isolation)).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var result = new List<SeenRecord>();
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow + WaitTimeout;
        while (atEnd.Count < partitions)
        {
            Ct.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"librdkafka did not reach the end of {topic} within {WaitTimeout}; got {result.Count} records.");
            }

            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is null)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                atEnd.Add(record.Partition.Value);
                continue;
            }

            atEnd.Remove(record.Partition.Value);
            var headers = record.Message.Headers?.Select(h => (h.Key, Decode(h.GetValueBytes()))).ToList() ?? [];
            result.Add(new SeenRecord(record.Partition.Value, record.Offset.Value, Decode(record.Message.Key),
                Decode(record.Message.Value), headers));
        }

        consumer.Close();
        return result;
    }

    public static SeenRecord Seen(ConsumeResult r) =>
        new(r.Partition, r.Offset, Decode(r.Key), Decode(r.Value), r.Headers.Select(h => (h.Key, Decode(h.Value))).ToList());

    public static string? Decode(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);

    public static byte[] Encode(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Every batch header of one partition, control batches included, read with a raw Fetch v12.</summary>
    public static async Task<List<StoredBatch>> ReadBatchesAsync(string bootstrap, string topic, int partition)
    {
        await using var client = new KafkaClient(new RawOptions { BootstrapServers = bootstrap });
        var batches = new List<StoredBatch>();
        long offset = 0;
        while (true)
        {
            var request = new FetchRequest
            {
                ReplicaId = -1,
                MaxWaitMs = 0,
                MinBytes = 0,
                MaxBytes = 64 * 1024 * 1024,
                IsolationLevel = 0,
                Topics =
                [
                    new FetchRequest.FetchTopic
                    {
                        Topic = topic,
                        Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = 16 * 1024 * 1024 }],
                    },
                ],
            };

            // v12 is the last Fetch version that names topics (v13+ use topic ids).
            var response = await client.SendAsync<FetchRequest, FetchResponse>(request, maxVersion: 12, cancellationToken: Ct);
            var data = response.Responses.Single().Partitions.Single();
            Assert.Equal(0, data.ErrorCode);
            var fetched = RecordBatch.ReadAll(data.Records is { } bytes ? bytes.Span : default, Codecs, allowPartialTrailingBatch: true);
            if (fetched.Count == 0)
            {
                return batches;
            }

            batches.AddRange(fetched.Select(b => new StoredBatch(b.Header.BaseOffset, b.Header.LastOffset,
                b.Header.Compression, b.Header.IsTransactional, b.Header.IsControl)));
            offset = fetched[^1].Header.LastOffset + 1;
            if (offset >= data.HighWatermark)
            {
                return batches;
            }
        }
    }

    /// <summary>Asserts that every data batch was stored with <paramref name="codec"/> (markers are never compressed).</summary>
    public static void AssertDataBatchesUse(IEnumerable<StoredBatch> batches, LockstepCodec codec)
    {
        var data = batches.Where(b => !b.IsControl).ToList();
        Assert.NotEmpty(data);
        Assert.All(data, b => Assert.Equal(codec, b.Compression));
    }

    private sealed class RawOptions : KafkaClientOptions;
}
