using System.Net;
using Lockstep.Broker;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using Lockstep.Storage;
using Lockstep.Transport;
using Lockstep.Transport.InMemory;

namespace Lockstep.Client.Tests.Harness;

/// <summary>
/// An embedded broker on an in-memory network and file system, plus the connection factory clients use to reach it:
/// every endpoint a client dials (bootstrap "broker:9092", or whatever Metadata advertises) is routed to the one
/// broker, optionally through <see cref="FaultInjectingConnectionFactory"/>.
/// </summary>
public sealed class ClientTestBroker : IAsyncDisposable, IConnectionFactory
{
    private static int s_counter;
    private readonly InMemoryNetwork _network = new();
    private readonly InMemoryEndPoint _endPoint = new("client-test-broker-" + Interlocked.Increment(ref s_counter));
    private readonly InMemoryFileSystem _fileSystem = new();

    private ClientTestBroker(KafkaBroker broker) => Broker = broker;

    private ClientTestBroker()
    {
        Broker = null!;
    }

    public KafkaBroker Broker { get; private set; }

    /// <summary>Bootstrap string for clients (only the routing factory understands it).</summary>
    public const string BootstrapServers = "broker:9092";

    public static async Task<ClientTestBroker> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var harness = new ClientTestBroker();
        var options = new BrokerOptions
        {
            DataDirectory = "/data",
            Listen = "127.0.0.1:9092",
            FileSystem = harness._fileSystem,
            Listener = harness._network.Listen(harness._endPoint),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            options.Settings[key] = value;
        }

        harness.Broker = await KafkaBroker.StartAsync(options);
        return harness;
    }

    /// <inheritdoc />
    public ValueTask<IConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken = default) =>
        _network.ConnectAsync(_endPoint, cancellationToken);

    public KafkaProducerOptions ProducerOptions(IConnectionFactory? factory = null) => new()
    {
        BootstrapServers = BootstrapServers,
        ConnectionFactory = factory ?? this,
        ClientId = "client-tests",
        RetryBackoff = TimeSpan.FromMilliseconds(10),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
        ReconnectBackoff = TimeSpan.FromMilliseconds(5),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(10),
        DeliveryTimeout = TimeSpan.FromSeconds(60),
        MaxBlock = TimeSpan.FromSeconds(20),
    };

    public KafkaClient RawClient() => new(new RawClientOptions
    {
        BootstrapServers = BootstrapServers,
        ConnectionFactory = this,
        RetryBackoff = TimeSpan.FromMilliseconds(10),
    });

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        _fileSystem.Dispose();
    }

    /// <summary>Options for <see cref="KafkaClient"/> in tests (the base type is abstract).</summary>
    private sealed class RawClientOptions : KafkaClientOptions;
}

/// <summary>A record as read back from the log, with the transaction outcome resolved from the markers.</summary>
public sealed record LogRecord(int Partition, long Offset, long ProducerId, short Epoch, int Sequence, byte[]? Key,
    byte[]? Value, bool Transactional);

/// <summary>Reads partitions back through the raw escape hatch (the consumer does not exist yet).</summary>
public static class LogReader
{
    private static readonly CompressionCodecRegistry Codecs = KafkaCompression.CreateRegistry();

    /// <summary>
    /// Fetches the whole partition at <paramref name="isolationLevel"/> (0 = read_uncommitted, 1 = read_committed)
    /// and returns data records. With read_committed, records of aborted transactions are dropped using the
    /// response's AbortedTransactions list, as a consumer does (kip939-spec.md §8.7).
    /// </summary>
    public static async Task<(List<LogRecord> Records, long HighWatermark, long LastStableOffset)> ReadAsync(
        KafkaClient client, string topic, int partition, sbyte isolationLevel)
    {
        var records = new List<LogRecord>();
        long offset = 0;
        long highWatermark;
        long lastStable;
        var aborted = new List<(long ProducerId, long FirstOffset)>();
        var batches = new List<RecordBatch>();
        while (true)
        {
            var request = new FetchRequest
            {
                ReplicaId = -1,
                MaxWaitMs = 0,
                MinBytes = 0,
                MaxBytes = 64 * 1024 * 1024,
                IsolationLevel = isolationLevel,
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
            var response = await client.SendAsync<FetchRequest, FetchResponse>(request, maxVersion: 12,
                cancellationToken: TestContext.Current.CancellationToken);
            var data = response.Responses.Single().Partitions.Single();
            Assert.Equal(0, data.ErrorCode);
            highWatermark = data.HighWatermark;
            lastStable = data.LastStableOffset;
            if (data.AbortedTransactions is { } list)
            {
                aborted.AddRange(list.Select(a => (a.ProducerId, a.FirstOffset)));
            }

            var fetched = RecordBatch.ReadAll(data.Records is { } bytes ? bytes.Span : default, Codecs, allowPartialTrailingBatch: true);
            if (fetched.Count == 0)
            {
                break;
            }

            batches.AddRange(fetched);
            offset = fetched[^1].Header.LastOffset + 1;
            var limit = isolationLevel == 1 ? lastStable : highWatermark;
            if (offset >= limit)
            {
                break;
            }
        }

        // read_committed: a transactional batch is aborted if an AbortedTransaction entry for its producer starts at
        // or before it and no marker of that producer lies between (CompletedFetch's abortedProducerIds logic).
        var abortedProducers = new HashSet<long>();
        var pendingAborts = aborted.OrderBy(a => a.FirstOffset).ToList();
        foreach (var batch in batches)
        {
            while (pendingAborts.Count > 0 && pendingAborts[0].FirstOffset <= batch.Header.LastOffset)
            {
                abortedProducers.Add(pendingAborts[0].ProducerId);
                pendingAborts.RemoveAt(0);
            }

            if (batch.Header.IsControl)
            {
                abortedProducers.Remove(batch.Header.ProducerId);
                continue;
            }

            if (isolationLevel == 1 && batch.Header.IsTransactional && abortedProducers.Contains(batch.Header.ProducerId))
            {
                continue;
            }

            foreach (var record in batch.Records)
            {
                records.Add(new LogRecord(partition, record.Offset, batch.Header.ProducerId, batch.Header.ProducerEpoch,
                    batch.Header.BaseSequence + record.OffsetDelta, record.Key, record.Value, batch.Header.IsTransactional));
            }
        }

        return (records, highWatermark, lastStable);
    }
}
