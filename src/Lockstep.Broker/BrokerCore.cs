using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Records;
using Lockstep.Storage;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker;

/// <summary>
/// The broker's shared state and services, handed to handlers and coordinators: configuration, clock, logging,
/// storage, topics, and the coordinators. Built once by <see cref="KafkaBroker.StartAsync"/>.
/// </summary>
/// <remarks>
/// Components (topic manager, coordinators, …) implement <see cref="IBrokerComponent"/>; they are opened in the
/// order listed in <see cref="OpenAsync"/>, started after the listener is bound, and disposed in reverse order.
/// </remarks>
internal sealed class BrokerCore : IAsyncDisposable
{
    private readonly List<IBrokerComponent> _components = [];
    private Coordinators.Transactions.ITransactionVerifier? _transactionVerifier;

    private BrokerCore(BrokerOptions options, BrokerConfig config, ILoggerFactory loggerFactory)
    {
        Config = config;
        LoggerFactory = loggerFactory;
        Time = options.TimeProvider;
        FileSystem = options.FileSystem ?? new PhysicalFileSystem();
        DataDirectory = Path.GetFullPath(options.DataDirectory);
        Metrics = new BrokerMetrics();
        Codecs = KafkaCompression.CreateRegistry();
        Logs = new LogManager(FileSystem, Path.Combine(DataDirectory, "logs"), config.DefaultLogConfig, Time, loggerFactory);
        Topics = new TopicManager(this);
    }

    /// <summary>Effective settings.</summary>
    public BrokerConfig Config { get; }

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The only clock (style-guide.md §3.2 rule 5).</summary>
    public TimeProvider Time { get; }

    /// <summary>File system of the data directory.</summary>
    public IFileSystem FileSystem { get; }

    /// <summary>Absolute data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>Metrics.</summary>
    public BrokerMetrics Metrics { get; }

    /// <summary>Codecs for validating and reading compressed batches.</summary>
    public CompressionCodecRegistry Codecs { get; }

    /// <summary>Partition logs under <c>DataDirectory/logs</c>.</summary>
    public LogManager Logs { get; }

    /// <summary>Topics and their partitions.</summary>
    public TopicManager Topics { get; }

    /// <summary>Host advertised in Metadata and FindCoordinator.</summary>
    public string AdvertisedHost { get; private set; } = "127.0.0.1";

    /// <summary>Port advertised in Metadata and FindCoordinator.</summary>
    public int AdvertisedPort { get; private set; }

    /// <summary>
    /// The transaction coordinator's produce-time verification (kip939-spec.md §8.3), set by the coordinator
    /// component when it opens; null while none is registered, and then partitions refuse transactional batches
    /// that need verification with INVALID_TXN_STATE. Read on every such append, so it may be set at any time.
    /// </summary>
    public Coordinators.Transactions.ITransactionVerifier? TransactionVerifier
    {
        get => Volatile.Read(ref _transactionVerifier);
        set => Volatile.Write(ref _transactionVerifier, value);
    }

    /// <summary>Cluster id: generated once and persisted in the data directory (meta.properties).</summary>
    public string ClusterId { get; private set; } = "";

    /// <summary>Opens the data directory and every component, recovering state from disk.</summary>
    public static async Task<BrokerCore> OpenAsync(
        BrokerOptions options, BrokerConfig config, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var core = new BrokerCore(options, config, loggerFactory);
        try
        {
            core.ClusterId = Internal.MetaProperties.LoadOrCreate(core.FileSystem, core.DataDirectory, config.NodeId);
            core.Add(core.Topics);
            core.AddComponents();
            foreach (var component in core._components)
            {
                cancellationToken.ThrowIfCancellationRequested();
                component.Open();
            }
        }
        catch
        {
            await core.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return core;
    }

    /// <summary>
    /// Registers the coordinators and other components. Each feature adds its component here, in dependency order.
    /// </summary>
    private void AddComponents()
    {
        // Components added by later features go here, in dependency order (group coordinator, producer ids,
        // transactions, retention).
        _ = _components;
        var groups = new Coordinators.Groups.GroupCoordinator(this);
        Add(groups);
        Add(new Admin.AdminComponent(this));
        var dataPlane = new Partitions.DataPlane(this);
        Add(dataPlane);
        var transactions = new Coordinators.Transactions.TransactionCoordinator(this, dataPlane.ProducerIds);
        Add(transactions);
        groups.AttachTransactionCoordinator(transactions); // TxnOffsetCommit + offsets-partition markers (issue 4)
    }

    private void Add(IBrokerComponent component) => _components.Add(component);

    /// <summary>Every handler contributed by the components.</summary>
    public IEnumerable<IApiHandler> CreateComponentHandlers()
    {
        foreach (var component in _components)
        {
            foreach (var handler in component.CreateHandlers())
            {
                yield return handler;
            }
        }
    }

    /// <summary>Records what Metadata and FindCoordinator advertise.</summary>
    public void SetAdvertisedEndpoint(string host, int port)
    {
        AdvertisedHost = host;
        AdvertisedPort = port;
    }

    /// <summary>Starts background work (timers, reapers) once the broker is serving.</summary>
    public void Start(CancellationToken stopping)
    {
        foreach (var component in _components)
        {
            component.Start(stopping);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        for (var i = _components.Count - 1; i >= 0; i--)
        {
            await _components[i].DisposeAsync().ConfigureAwait(false);
        }

        await Logs.DisposeAsync().ConfigureAwait(false);
        Metrics.Dispose();
    }
}

/// <summary>A broker subsystem with its own state, handlers and background work.</summary>
internal interface IBrokerComponent : IAsyncDisposable
{
    /// <summary>Loads or recovers state from disk. Runs before the listener accepts connections.</summary>
    void Open();

    /// <summary>Starts background loops; they stop when <paramref name="stopping"/> fires.</summary>
    void Start(CancellationToken stopping);

    /// <summary>The API handlers this component serves.</summary>
    IEnumerable<IApiHandler> CreateHandlers();
}
