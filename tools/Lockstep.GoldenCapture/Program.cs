using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.GoldenCapture;

/// <summary>
/// Points an unmodified Confluent.Kafka (librdkafka) idempotent producer at a tiny listener that answers just
/// enough (ApiVersions, Metadata, InitProducerId, Produce) for the client to send a record batch, and saves the
/// client's request frames byte for byte. One producer runs per compression codec. The saved frames are the golden
/// fixtures of tests/Lockstep.Protocol.Tests/Golden; the test there asserts the values this program produced
/// (<see cref="Fixture"/>).
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var outDir = args.Length >= 2 && args[0] == "--out"
            ? args[1]
            : Path.Combine(FindRepoRoot(), "tests", "Lockstep.Protocol.Tests", "Golden", "librdkafka");
        Directory.CreateDirectory(outDir);
        Console.WriteLine($"librdkafka {Library.VersionString}; writing fixtures to {outDir}");

        var first = true;
        foreach (var (name, codec) in Fixture.Codecs)
        {
            await using var listener = new CaptureListener();
            listener.Start();
            using (var producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = $"127.0.0.1:{listener.Port}",
                ClientId = Fixture.ClientId,
                Acks = Acks.All,
                EnableIdempotence = true,
                CompressionType = codec,
                LingerMs = 100,
                MessageTimeoutMs = 10_000,
                BrokerAddressFamily = BrokerAddressFamily.V4,
            }).Build())
            {
                for (var i = 0; i < Fixture.RecordCount; i++)
                {
                    var headers = new Headers { { Fixture.HeaderKey, Encoding.UTF8.GetBytes(Fixture.HeaderValue(i)) } };
                    _ = producer.ProduceAsync(
                        new TopicPartition(Fixture.Topic, 0),
                        new Message<string, string> { Key = Fixture.Key(i), Value = Fixture.Value(i), Headers = headers });
                }

                // Confluent.Kafka has no async flush; blocking this tool's thread is harmless.
                producer.Flush(TimeSpan.FromSeconds(15));
            }

            foreach (var frame in listener.Frames)
            {
                var isProduce = frame.ApiKey == (short)ApiKey.Produce;
                if (!isProduce && !first)
                {
                    continue;
                }

                var file = $"{(ApiKey)frame.ApiKey}_Request_v{frame.ApiVersion}_librdkafka{(isProduce ? "_" + name : "")}.bin";
                await File.WriteAllBytesAsync(Path.Combine(outDir, file), frame.Bytes);
                Console.WriteLine($"  {file} ({frame.Bytes.Length} bytes)");
            }

            if (!listener.Frames.Any(f => f.ApiKey == (short)ApiKey.Produce))
            {
                Console.Error.WriteLine($"no Produce request captured for {name}");
                return 1;
            }

            first = false;
        }

        return 0;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lockstep.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Lockstep.slnx not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>One request frame as the client sent it, length prefix included.</summary>
internal sealed record CapturedFrame(short ApiKey, short ApiVersion, byte[] Bytes);

/// <summary>
/// Accepts connections and answers the handful of requests a producer needs. Keeps the first frame of each API key.
/// </summary>
internal sealed class CaptureListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<CapturedFrame> _frames = [];
    private Task? _acceptLoop;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<CapturedFrame> Frames
    {
        get
        {
            lock (_frames)
            {
                return [.. _frames];
            }
        }
    }

    public void Start()
    {
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var sizeBytes = new byte[4];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await stream.ReadExactlyAsync(sizeBytes, _stop.Token);
                var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
                var frame = new byte[4 + size];
                sizeBytes.CopyTo(frame, 0);
                await stream.ReadExactlyAsync(frame.AsMemory(4), _stop.Token);
                var apiKey = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(4));
                var apiVersion = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(6));
                lock (_frames)
                {
                    if (!_frames.Any(f => f.ApiKey == apiKey))
                    {
                        _frames.Add(new CapturedFrame(apiKey, apiVersion, frame));
                    }
                }

                var response = Responder.Answer(frame.AsMemory(4), Port);
                if (response is not null)
                {
                    await stream.WriteAsync(response, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            // The loop was started by this object and ends once the listener stops.
#pragma warning disable VSTHRD003
            await _acceptLoop;
#pragma warning restore VSTHRD003
        }

        _stop.Dispose();
    }
}

/// <summary>Builds the minimal responses, with the generated message types.</summary>
internal static class Responder
{
    // What the listener advertises: the ranges of Apache Kafka 4.1 for the APIs a producer touches, so the client
    // picks the same versions it would pick against a real broker. Fetch is advertised (never served) because
    // librdkafka enables message format v2 only when Produce >= 3 and Fetch >= 4 are both present
    // (rdkafka_feature.c), and zstd only with Produce >= 7 and Fetch >= 10. FindCoordinator is advertised for the
    // same reason: librdkafka takes FindCoordinator v0 as the proxy for broker LZ4 support and otherwise sends
    // "lz4" batches uncompressed.
    private static readonly (ApiKey Key, short Min, short Max)[] Advertised =
    [
        (ApiKey.Produce, 3, 12),
        (ApiKey.Fetch, 4, 17),
        (ApiKey.Metadata, 0, 13),
        (ApiKey.FindCoordinator, 0, 6),
        (ApiKey.ApiVersions, 0, 4),
        (ApiKey.InitProducerId, 0, 5),
    ];

    public static byte[]? Answer(ReadOnlyMemory<byte> frame, int port)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame.Span);
        var apiVersion = BinaryPrimitives.ReadInt16BigEndian(frame.Span[2..]);
        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader, ApiMessages.RequestHeaderVersion(apiKey, apiVersion));
        var responseHeaderVersion = ApiMessages.ResponseHeaderVersion(apiKey, apiVersion);
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                var response = new ApiVersionsResponse();
                foreach (var (key, min, max) in Advertised)
                {
                    response.ApiKeys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = (short)key, MinVersion = min, MaxVersion = max });
                }

                return Frame(header.CorrelationId, responseHeaderVersion, response, apiVersion);
            }

            case ApiKey.Metadata:
            {
                var request = MetadataRequest.Read(ref reader, apiVersion);
                var response = new MetadataResponse { ClusterId = "golden-cluster", ControllerId = 1 };
                response.Brokers.Add(new MetadataResponse.MetadataResponseBroker { NodeId = 1, Host = "127.0.0.1", Port = port });
                var topic = new MetadataResponse.MetadataResponseTopic
                {
                    Name = Fixture.Topic,
                    TopicId = Fixture.TopicId,
                };
                topic.Partitions.Add(new MetadataResponse.MetadataResponsePartition
                {
                    PartitionIndex = 0,
                    LeaderId = 1,
                    LeaderEpoch = 0,
                    ReplicaNodes = [1],
                    IsrNodes = [1],
                });
                if (request.Topics is null || request.Topics.Any(t => t.Name == Fixture.Topic))
                {
                    response.Topics.Add(topic);
                }

                return Frame(header.CorrelationId, responseHeaderVersion, response, apiVersion);
            }

            case ApiKey.InitProducerId:
                return Frame(
                    header.CorrelationId,
                    responseHeaderVersion,
                    new InitProducerIdResponse { ProducerId = Fixture.ProducerId, ProducerEpoch = 0 },
                    apiVersion);

            case ApiKey.Produce:
            {
                var request = ProduceRequest.Read(ref reader, apiVersion);
                var response = new ProduceResponse();
                foreach (var topic in request.TopicData)
                {
                    var t = new ProduceResponse.TopicProduceResponse { Name = topic.Name, TopicId = topic.TopicId };
                    foreach (var p in topic.PartitionData)
                    {
                        t.PartitionResponses.Add(new ProduceResponse.PartitionProduceResponse { Index = p.Index, BaseOffset = 0 });
                    }

                    response.Responses.Add(t);
                }

                return request.Acks == 0 ? null : Frame(header.CorrelationId, responseHeaderVersion, response, apiVersion);
            }

            default:
                return null;
        }
    }

    private static byte[] Frame<T>(int correlationId, short headerVersion, T body, short version)
        where T : IKafkaMessage<T>
    {
        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0);
        new ResponseHeader { CorrelationId = correlationId }.Write(ref writer, headerVersion);
        body.Write(ref writer, version);
        writer.Flush();
        var bytes = buffer.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        return bytes;
    }
}

/// <summary>The values the capture produces; the golden tests assert exactly these.</summary>
internal static class Fixture
{
    public const string ClientId = "lockstep-golden";
    public const string Topic = "golden";
    public const string HeaderKey = "trace";
    public const int RecordCount = 3;
    public const long ProducerId = 4242;
    public static readonly Guid TopicId = new("6c6f636b-7374-6570-2d67-6f6c64656e21");

    public static readonly (string Name, CompressionType Codec)[] Codecs =
    [
        ("none", CompressionType.None),
        ("gzip", CompressionType.Gzip),
        ("snappy", CompressionType.Snappy),
        ("lz4", CompressionType.Lz4),
        ("zstd", CompressionType.Zstd),
    ];

    public static string Key(int i) => $"order-{i}";

    public static string HeaderValue(int i) => $"span-{i}";

    // Repetitive values so every codec actually shrinks the batch: librdkafka sends a batch uncompressed when
    // compression would not make it smaller.
    public static string Value(int i) => string.Concat(Enumerable.Repeat($"lockstep golden value {i}; ", 20));
}
