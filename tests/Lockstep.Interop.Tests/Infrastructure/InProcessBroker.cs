using Lockstep.Broker;
using Lockstep.Testing;
using Microsoft.Extensions.Logging;

namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>
/// A <see cref="KafkaBroker"/> in the test process on a real loopback socket (port 0) with its data in a fresh
/// <see cref="TempDirectory"/>, logging into the test's <see cref="TestLog"/>. Each test starts its own
/// (style-guide.md §3.6: a fresh embedded broker per test), so no test sees another's topics or groups.
/// </summary>
public sealed class InProcessBroker : IAsyncDisposable
{
    private readonly TempDirectory _dataDirectory;
    private readonly ILoggerFactory _loggerFactory;

    private InProcessBroker(KafkaBroker broker, TempDirectory dataDirectory, ILoggerFactory loggerFactory, TestLog log)
    {
        Broker = broker;
        _dataDirectory = dataDirectory;
        _loggerFactory = loggerFactory;
        Log = log;
    }

    public KafkaBroker Broker { get; }

    public TestLog Log { get; }

    /// <summary>HOST:PORT for bootstrap.servers.</summary>
    public string BootstrapServers => Broker.BootstrapServers;

    public static async Task<InProcessBroker> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var log = new TestLog();
        var dataDirectory = new TempDirectory("interop-broker");
        var loggerFactory = log.CreateLoggerFactory();
        try
        {
            var options = new BrokerOptions
            {
                DataDirectory = dataDirectory.Path,
                Listen = "127.0.0.1:0",
                LoggerFactory = loggerFactory,
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                options.Settings[key] = value;
            }

            var broker = await KafkaBroker.StartAsync(options, TestContext.Current.CancellationToken);
            return new InProcessBroker(broker, dataDirectory, loggerFactory, log);
        }
        catch
        {
            loggerFactory.Dispose();
            dataDirectory.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        _loggerFactory.Dispose();
        _dataDirectory.Dispose();
    }
}
