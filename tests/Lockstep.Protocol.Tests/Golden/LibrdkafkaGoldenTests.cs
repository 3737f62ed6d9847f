using System.Buffers.Binary;
using System.Text;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Golden;

/// <summary>
/// Golden bytes from a real client. tools/Lockstep.GoldenCapture pointed an unmodified Confluent.Kafka 2.16
/// (librdkafka 2.16.0) idempotent producer at a listener and saved its first request frames (length prefix
/// included) into Golden/librdkafka/. Each test decodes one frame into the values the capture produced, then
/// re-encodes header and body and demands the identical bytes.
/// </summary>
public sealed class LibrdkafkaGoldenTests
{
    // The values tools/Lockstep.GoldenCapture/Program.cs (class Fixture) produced.
    private const string ClientId = "lockstep-golden";
    private const string Topic = "golden";
    private const long ProducerId = 4242;

    private static byte[] Load(string name) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "librdkafka", name));

    /// <summary>
    /// Decodes header and body of <paramref name="frame"/>, runs <paramref name="check"/>, then re-encodes both
    /// and compares with the original frame byte for byte.
    /// </summary>
    private static T DecodeAndReencode<T>(byte[] frame, ApiKey apiKey, short version, Action<RequestHeader, T> check)
        where T : IKafkaMessage<T>
    {
        Assert.Equal(frame.Length - 4, BinaryPrimitives.ReadInt32BigEndian(frame));
        var headerVersion = ApiMessages.RequestHeaderVersion(apiKey, version);
        var reader = new KafkaReader(frame.AsMemory(4));
        var header = RequestHeader.Read(ref reader, headerVersion);
        var body = T.Read(ref reader, version);
        reader.ExpectEnd(typeof(T).Name);

        Assert.Equal((short)apiKey, header.RequestApiKey);
        Assert.Equal(version, header.RequestApiVersion);
        Assert.Equal(ClientId, header.ClientId);
        check(header, body);

        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(frame.Length - 4);
        header.Write(ref writer, headerVersion);
        body.Write(ref writer, version);
        writer.Flush();
        Assert.Equal(frame, buffer.ToArray());
        return body;
    }

    [Fact]
    public void ApiVersions_Request_v3_librdkafka()
    {
        DecodeAndReencode<ApiVersionsRequest>(
            Load("ApiVersions_Request_v3_librdkafka.bin"),
            ApiKey.ApiVersions,
            3,
            (header, body) =>
            {
                // librdkafka's first request on a connection, with the KIP-511 software name and version.
                Assert.Equal(1, header.CorrelationId);
                Assert.Equal("confluent-kafka-dotnet", body.ClientSoftwareName);
                Assert.Equal("2.16.0", body.ClientSoftwareVersion);
            });
    }

    [Fact]
    public void Metadata_Request_v13_librdkafka()
    {
        DecodeAndReencode<MetadataRequest>(
            Load("Metadata_Request_v13_librdkafka.bin"),
            ApiKey.Metadata,
            13,
            (_, body) =>
            {
                var topic = Assert.Single(body.Topics!);
                Assert.Equal(Topic, topic.Name);
                Assert.Equal(Guid.Empty, topic.TopicId);
                Assert.True(body.AllowAutoTopicCreation);
                Assert.False(body.IncludeTopicAuthorizedOperations);
            });
    }

    [Fact]
    public void InitProducerId_Request_v4_librdkafka()
    {
        DecodeAndReencode<InitProducerIdRequest>(
            Load("InitProducerId_Request_v4_librdkafka.bin"),
            ApiKey.InitProducerId,
            4,
            (_, body) =>
            {
                // An idempotent (non-transactional) producer: null id, no timeout, no KIP-360 resume.
                Assert.Null(body.TransactionalId);
                Assert.Equal(-1, body.TransactionTimeoutMs);
                Assert.Equal(-1L, body.ProducerId);
                Assert.Equal((short)-1, body.ProducerEpoch);
            });
    }

    [Theory]
    [InlineData("none", CompressionType.None)]
    [InlineData("gzip", CompressionType.Gzip)]
    [InlineData("snappy", CompressionType.Snappy)]
    [InlineData("lz4", CompressionType.Lz4)]
    [InlineData("zstd", CompressionType.Zstd)]
    public void Produce_Request_v10_librdkafka(string codecName, CompressionType codec)
    {
        DecodeAndReencode<ProduceRequest>(
            Load($"Produce_Request_v10_librdkafka_{codecName}.bin"),
            ApiKey.Produce,
            10,
            (_, body) =>
            {
                Assert.Null(body.TransactionalId);
                Assert.Equal((short)-1, body.Acks);
                Assert.Equal(30_000, body.TimeoutMs);
                var topic = Assert.Single(body.TopicData);
                Assert.Equal(Topic, topic.Name);
                var partition = Assert.Single(topic.PartitionData);
                Assert.Equal(0, partition.Index);
                Assert.NotNull(partition.Records);

                var batch = Assert.Single(RecordBatch.ReadAll(partition.Records.Value.Span, KafkaCompression.CreateRegistry()));
                Assert.Equal(codec, batch.Header.Compression);
                Assert.Equal(ProducerId, batch.Header.ProducerId);
                Assert.Equal((short)0, batch.Header.ProducerEpoch);
                Assert.Equal(0, batch.Header.BaseSequence);
                Assert.False(batch.Header.IsTransactional);
                Assert.Equal(3, batch.Header.RecordCount);
                Assert.Equal(2, batch.Header.LastOffsetDelta);
                for (var i = 0; i < 3; i++)
                {
                    var record = batch.Records[i];
                    Assert.Equal(i, record.OffsetDelta);
                    Assert.Equal($"order-{i}", Encoding.UTF8.GetString(record.Key!));
                    Assert.Equal(
                        string.Concat(Enumerable.Repeat($"lockstep golden value {i}; ", 20)),
                        Encoding.UTF8.GetString(record.Value!));
                    var header = Assert.Single(record.Headers);
                    Assert.Equal("trace", header.Key);
                    Assert.Equal($"span-{i}", Encoding.UTF8.GetString(header.Value!));
                }

                if (codec != CompressionType.None)
                {
                    // The point of the fixture: librdkafka really compressed this batch.
                    Assert.True(partition.Records.Value.Length < 1000, $"batch of {partition.Records.Value.Length} bytes");
                }
            });
    }
}
