using Lockstep.Storage;
using Lockstep.Transport.InMemory;

namespace Lockstep.Broker.Tests.Harness;

/// <summary>
/// A broker on an in-memory network and (by default) an in-memory file system, plus raw protocol clients connected
/// to it. Each test gets its own harness; restart it over the same file system to test recovery.
/// </summary>
public sealed class BrokerHarness : IAsyncDisposable
{
    private static int s_counter;
    private readonly InMemoryEndPoint _endPoint;

    private BrokerHarness(InMemoryNetwork network, InMemoryEndPoint endPoint, IFileSystem fs, KafkaBroker broker)
    {
        Network = network;
        _endPoint = endPoint;
        FileSystem = fs;
        Broker = broker;
    }

    /// <summary>The network the broker listens on.</summary>
    public InMemoryNetwork Network { get; }

    /// <summary>The broker's file system (an <see cref="InMemoryFileSystem"/> unless one was given).</summary>
    public IFileSystem FileSystem { get; }

    /// <summary>The broker.</summary>
    public KafkaBroker Broker { get; private set; }

    /// <summary>Starts a broker. <paramref name="settings"/> are Kafka-named broker settings.</summary>
    public static async Task<BrokerHarness> StartAsync(
        IReadOnlyDictionary<string, string>? settings = null, IFileSystem? fileSystem = null, TimeProvider? time = null)
    {
        var network = new InMemoryNetwork();
        var endPoint = new InMemoryEndPoint("broker-" + Interlocked.Increment(ref s_counter));
        var fs = fileSystem ?? new InMemoryFileSystem();
        var broker = await StartBrokerAsync(network, endPoint, fs, settings, time);
        return new BrokerHarness(network, endPoint, fs, broker);
    }

    private static Task<KafkaBroker> StartBrokerAsync(
        InMemoryNetwork network, InMemoryEndPoint endPoint, IFileSystem fs,
        IReadOnlyDictionary<string, string>? settings, TimeProvider? time)
    {
        var options = new BrokerOptions
        {
            DataDirectory = "/data",
            Listen = "127.0.0.1:9092",
            FileSystem = fs,
            Listener = network.Listen(endPoint),
            TimeProvider = time ?? TimeProvider.System,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            options.Settings[key] = value;
        }

        return KafkaBroker.StartAsync(options);
    }

    /// <summary>Stops the broker cleanly and starts a new one over the same file system.</summary>
    public async Task RestartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        await Broker.DisposeAsync();
        Broker = await StartBrokerAsync(Network, _endPoint, FileSystem, settings, null);
    }

    /// <summary>Opens a new client connection.</summary>
    public async Task<RawKafkaClient> ConnectAsync(string clientId = "test")
    {
        var connection = await Network.ConnectAsync(_endPoint);
        return new RawKafkaClient(connection, clientId);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        (FileSystem as IDisposable)?.Dispose();
    }
}
