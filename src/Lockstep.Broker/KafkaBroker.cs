using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Handlers;
using Lockstep.Broker.Network;
using Lockstep.Transport;
using Lockstep.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Broker;

/// <summary>
/// The embedded, durable, single-node Kafka-compatible broker. Unmodified Kafka clients connect to
/// <see cref="BootstrapServers"/>.
/// </summary>
/// <example>
/// <code>
/// await using var broker = await KafkaBroker.StartAsync(new BrokerOptions { Listen = "127.0.0.1:0" });
/// Console.WriteLine(broker.BootstrapServers);
/// </code>
/// </example>
public sealed partial class KafkaBroker : IAsyncDisposable
{
    private readonly BrokerCore _core;
    private readonly IConnectionListener _listener;
    private readonly HandlerRegistry _handlers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Task> _sessions = new();
    private Task? _acceptLoop;
    private long _nextConnectionId;
    private int _disposed;

    private KafkaBroker(BrokerCore core, IConnectionListener listener, string advertisedHost, int advertisedPort)
    {
        _core = core;
        _listener = listener;
        _logger = core.LoggerFactory.CreateLogger<KafkaBroker>();
        AdvertisedHost = advertisedHost;
        AdvertisedPort = advertisedPort;
        core.SetAdvertisedEndpoint(advertisedHost, advertisedPort);
        _handlers = new HandlerRegistry(CreateHandlers(core, () => _handlers!));
    }

    /// <summary>The host clients are told to connect to.</summary>
    public string AdvertisedHost { get; }

    /// <summary>The port clients are told to connect to (the bound port when listening on port 0).</summary>
    public int AdvertisedPort { get; }

    /// <summary><c>HOST:PORT</c> for a client's <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers => string.Create(CultureInfo.InvariantCulture, $"{AdvertisedHost}:{AdvertisedPort}");

    /// <summary>The effective broker settings.</summary>
    public BrokerConfig Config => _core.Config;

    /// <summary>The broker's metrics.</summary>
    public BrokerMetrics Metrics => _core.Metrics;

    /// <summary>The broker's shared services (tests reach partitions and inject collaborators through it).</summary>
    internal BrokerCore Core => _core;

    /// <summary>
    /// Opens (and recovers) the data directory, binds the listener and starts serving. Throws
    /// <see cref="ArgumentException"/> for invalid settings.
    /// </summary>
    public static async Task<KafkaBroker> StartAsync(BrokerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = BrokerConfig.Parse(options.Settings.AsReadOnly());
        var (host, port) = ParseHostPort(options.Listen);
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var core = await BrokerCore.OpenAsync(options, config, loggerFactory, cancellationToken).ConfigureAwait(false);
        IConnectionListener listener;
        try
        {
            listener = options.Listener ?? SocketConnectionListener.Bind(new IPEndPoint(ParseAddress(host), port));
        }
        catch
        {
            await core.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var boundPort = listener.LocalEndPoint is IPEndPoint ip ? ip.Port : port;
        var advertisedHost = options.AdvertisedHost
            ?? (host is "0.0.0.0" or "::" or "*" or "" ? "127.0.0.1" : host);
        var broker = new KafkaBroker(core, listener, advertisedHost, boundPort);
        broker.Start();
        return broker;
    }

    private void Start()
    {
        _core.Start(_stopping.Token);
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
        LogListening(BootstrapServers);
    }

    /// <summary>
    /// Every handler the broker serves. ApiVersions derives its answer from this list, so adding a handler here is
    /// what makes an API visible to clients.
    /// </summary>
    private static IEnumerable<IApiHandler> CreateHandlers(BrokerCore core, Func<HandlerRegistry> registry)
    {
        yield return new ApiVersionsHandler(core.Config, registry);
        foreach (var handler in core.CreateComponentHandlers())
        {
            yield return handler;
        }
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            IConnection? connection;
            try
            {
                connection = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                LogAcceptFailed(e);
                continue;
            }

            if (connection is null)
            {
                return;
            }

            var id = Interlocked.Increment(ref _nextConnectionId);
            var session = new BrokerSession(
                connection,
                id,
                _handlers,
                _core.Metrics,
                _core.Config.SocketRequestMaxBytes,
                _core.LoggerFactory.CreateLogger<BrokerSession>());
            _core.Metrics.ConnectionOpened();
            _sessions[id] = RunSessionAsync(id, session, cancellationToken);
        }
    }

    private async Task RunSessionAsync(long id, BrokerSession session, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await session.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogSessionFailed(id, e);
        }
        finally
        {
            _core.Metrics.ConnectionClosed();
            _sessions.TryRemove(id, out _);
        }
    }

    /// <summary>Stops accepting, closes every connection, and flushes and closes the logs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_sessions.Values.ToArray()).ConfigureAwait(false);
        await _core.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        LogStopped(BootstrapServers);
    }

    private static (string Host, int Port) ParseHostPort(string listen)
    {
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port > 65535)
        {
            throw new ArgumentException($"Listen address '{listen}' is not HOST:PORT (e.g. 127.0.0.1:9092).");
        }

        return (listen[..colon].Trim('[', ']'), port);
    }

    private static IPAddress ParseAddress(string host)
    {
        if (host is "" or "*" or "0.0.0.0")
        {
            return IPAddress.Any;
        }

        if (host == "localhost")
        {
            return IPAddress.Loopback;
        }

        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }

        var resolved = Dns.GetHostAddresses(host);
        return resolved.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            ?? resolved.FirstOrDefault()
            ?? throw new ArgumentException($"Cannot resolve listen host '{host}'.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "listening on {Endpoint}")]
    private partial void LogListening(string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "broker on {Endpoint} stopped")]
    private partial void LogStopped(string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "accepting a connection failed")]
    private partial void LogAcceptFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "connection {ConnectionId} failed")]
    private partial void LogSessionFailed(long connectionId, Exception exception);
}
