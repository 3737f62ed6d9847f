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
    private readonly TimeProvider? _time;

    private BrokerHarness(InMemoryNetwork network, InMemoryEndPoint endPoint, IFileSystem fs, KafkaBroker broker, TimeProvider? time)
    {
        Network = network;
        _endPoint = endPoint;
        _time = time;
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
        return new BrokerHarness(network, endPoint, fs, broker, time);
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

    /// <summary>Stops the broker cleanly and starts a new one over the same file system (and the same clock).</summary>
    public async Task RestartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        await Broker.DisposeAsync();
        Broker = await StartBrokerAsync(Network, _endPoint, FileSystem, settings, _time);
    }

    /// <summary>
    /// Simulates SIGKILL/power loss: every byte not fsynced is lost (<see cref="InMemoryFileSystem.Crash"/>), then a
    /// new broker starts over what survived. The old broker's shutdown runs against the crashed file system (its
    /// handles fail) and whatever it manages to write is discarded by a second crash, so it cannot help recovery.
    /// </summary>
    public async Task CrashAndRestartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var fs = (InMemoryFileSystem)FileSystem;
        fs.Crash();
        try
        {
            await Broker.DisposeAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or AggregateException)
        {
            // The dead process's shutdown: irrelevant to what survived.
        }

        fs.Crash();
        Broker = await StartBrokerAsync(Network, _endPoint, FileSystem, settings, _time);
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
