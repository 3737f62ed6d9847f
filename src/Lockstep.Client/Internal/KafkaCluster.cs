// KafkaCluster — the client core shared by the producer, the consumer (Consumer/) and the admin client (Admin/).
//
// API for the other client components (all members are thread-safe):
//   new KafkaCluster(options, allowAutoTopicCreation, diagnostics)    one per client instance; DisposeAsync closes it.
//   Options / Time / LoggerFactory / Diagnostics                      shared settings, the clock, logging, metrics.
//   Metadata (MetadataCache)                                          GetTopicAsync(topic) → leaders per partition;
//                                                                     RequestUpdate() after NOT_LEADER_OR_FOLLOWER,
//                                                                     UNKNOWN_TOPIC_OR_PARTITION or a lost connection.
//   SendAsync<TReq,TResp>(nodeId, request, maxVersion?, minVersion?)  negotiates the version on that broker's
//                                                                     connection (highest common; never above what
//                                                                     the broker advertised; unstable top versions
//                                                                     only when maxVersion asks for them) and sends.
//                                                                     nodeId = AnyNode picks any reachable broker.
//                                                                     Connection failures → KafkaRetriableException.
//   GetConnectionAsync(nodeId) / GetAnyConnectionAsync()              the BrokerConnection itself (its Versions table,
//                                                                     SendAsync at an explicit version, pipelining).
//   FindCoordinatorAsync(CoordinatorType.Group|Transaction, key)      cached coordinator node id;
//                                                                     InvalidateCoordinator after NOT_COORDINATOR /
//                                                                     COORDINATOR_NOT_AVAILABLE.
//   TransactionVersionAsync()                                         finalized transaction.version (KIP-890).
//   Backoff(attempt)                                                  retry.backoff.ms × 2^attempt, capped, ±20 %.
//
// Connections: one per broker node (bootstrap servers get synthetic ids -1, -2, … as in Java's NetworkClient).
// A failed connect is retried after reconnect.backoff.ms doubling up to reconnect.backoff.max.ms; callers asking
// for a node in back-off wait for it rather than spinning.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Transport;
using Lockstep.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Client.Internal;

/// <summary>Coordinator kinds of FindCoordinator's <c>KeyType</c>.</summary>
internal enum CoordinatorType : sbyte
{
    Group = 0,
    Transaction = 1,
}

internal sealed class KafkaCluster : IAsyncDisposable
{
    /// <summary>Node id meaning "any reachable broker".</summary>
    public const int AnyNode = int.MinValue;

    private readonly IConnectionFactory _factory;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, EndPoint> _addresses = new();
    private readonly ConcurrentDictionary<int, NodeSlot> _slots = new();
    private readonly ConcurrentDictionary<(CoordinatorType, string), int> _coordinators = new();
    private readonly int[] _bootstrapIds;
    private readonly Random _random = new();
    private readonly CancellationTokenSource _disposed = new();
    private int _roundRobin;

    public KafkaCluster(KafkaClientOptions options, bool allowAutoTopicCreation, ClientDiagnostics diagnostics)
    {
        Options = options;
        Time = options.TimeProvider;
        LoggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        Diagnostics = diagnostics;
        _logger = LoggerFactory.CreateLogger("Lockstep.Client.Cluster");
        _factory = options.ConnectionFactory ?? new SocketConnectionFactory();
        var bootstrap = ParseBootstrap(options.BootstrapServers);
        _bootstrapIds = new int[bootstrap.Count];
        for (var i = 0; i < bootstrap.Count; i++)
        {
            _bootstrapIds[i] = -1 - i;
            _addresses[-1 - i] = bootstrap[i];
        }

        Metadata = new MetadataCache(this, allowAutoTopicCreation, LoggerFactory.CreateLogger("Lockstep.Client.Metadata"));
    }

    public KafkaClientOptions Options { get; }

    public TimeProvider Time { get; }

    public ILoggerFactory LoggerFactory { get; }

    public ClientDiagnostics Diagnostics { get; }

    public MetadataCache Metadata { get; }

    /// <summary>Cancelled when the cluster is disposed; background loops link to it.</summary>
    public CancellationToken Disposed => _disposed.Token;

    internal static List<EndPoint> ParseBootstrap(string servers)
    {
        var result = new List<EndPoint>();
        foreach (var entry in servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = entry.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(entry.AsSpan(colon + 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
            {
                throw new ArgumentException($"Invalid bootstrap.servers entry '{entry}': expected host:port.");
            }

            result.Add(ToEndPoint(entry[..colon].Trim('[', ']'), port));
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("bootstrap.servers lists no broker.");
        }

        return result;
    }

    private static EndPoint ToEndPoint(string host, int port) =>
        IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);

    /// <summary>Records broker addresses from Metadata or FindCoordinator.</summary>
    public void UpdateBrokers(IEnumerable<BrokerNode> brokers)
    {
        foreach (var broker in brokers)
        {
            var endPoint = ToEndPoint(broker.Host, broker.Port);
            if (_addresses.TryGetValue(broker.NodeId, out var old) && !old.Equals(endPoint)
                && _slots.TryGetValue(broker.NodeId, out var slot))
            {
                slot.Current?.Shutdown("The broker's advertised address changed.");
            }

            _addresses[broker.NodeId] = endPoint;
        }
    }

    /// <summary>Exponential back-off with ±20 % jitter (KIP-580): retry.backoff.ms × 2^attempt up to the max.</summary>
    public TimeSpan Backoff(int attempt) =>
        Jitter(Options.RetryBackoff, Options.RetryBackoffMax, attempt);

    private TimeSpan Jitter(TimeSpan initial, TimeSpan max, int attempt)
    {
        var ms = initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        ms = Math.Min(ms, Math.Max(max.TotalMilliseconds, initial.TotalMilliseconds));
        double factor;
        lock (_random)
        {
            factor = 0.8 + (_random.NextDouble() * 0.4);
        }

        return TimeSpan.FromMilliseconds(ms * factor);
    }

    /// <summary>
    /// The version to send <typeparamref name="TRequest"/> at over <paramref name="connection"/>: the highest
    /// version in both our range and the broker's. Our range tops out below an unstable latest version
    /// (<c>latestVersionUnstable</c>, kip939-spec.md §6.1) unless <paramref name="maxVersion"/> names it.
    /// </summary>
    /// <exception cref="BrokerCapabilityException">No common version.</exception>
    public static short NegotiateVersion<TRequest, TResponse>(
        BrokerConnection connection, short? maxVersion = null, short minVersion = -1)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaMessage<TResponse>
    {
        var clientMax = maxVersion ?? DefaultMaxVersion(TRequest.ApiKey, TRequest.HighestSupportedVersion);
        clientMax = Math.Min(clientMax, TRequest.HighestSupportedVersion);
        var clientMin = Math.Max(minVersion, TRequest.LowestSupportedVersion);
        var version = connection.Versions.Negotiate(TRequest.ApiKey, clientMin, clientMax);
        if (version < 0)
        {
            var advertised = connection.Versions.TryGetRange(TRequest.ApiKey, out var min, out var max)
                ? $"{min}-{max}"
                : "none";
            throw new BrokerCapabilityException(
                $"{TRequest.ApiKey} v{clientMin}-{clientMax}",
                $"Broker {connection.NodeId} does not support {TRequest.ApiKey} in versions {clientMin}-{clientMax} " +
                $"(it advertises {advertised}).");
        }

        return version;
    }

    private static short DefaultMaxVersion(ApiKey apiKey, short highest) =>
        ApiMessages.TryGet(apiKey, out var info) && info.LatestVersionUnstable ? (short)(highest - 1) : highest;

    /// <summary>Sends a request to <paramref name="nodeId"/> (or <see cref="AnyNode"/>) at the negotiated version.
    /// </summary>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(
        int nodeId, TRequest request, short? maxVersion = null, short minVersion = -1,
        CancellationToken cancellationToken = default)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        var connection = nodeId == AnyNode
            ? await GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false)
            : await GetConnectionAsync(nodeId, cancellationToken).ConfigureAwait(false);
        var version = NegotiateVersion<TRequest, TResponse>(connection, maxVersion, minVersion);
        var response = await connection.SendAsync<TRequest, TResponse>(request, version, expectResponse: true,
            cancellationToken).ConfigureAwait(false);
        return response!;
    }

    /// <summary>An open connection to any broker: an existing one if possible, else known brokers then bootstrap
    /// servers in turn.</summary>
    public async Task<BrokerConnection> GetAnyConnectionAsync(CancellationToken cancellationToken)
    {
        foreach (var slot in _slots.Values)
        {
            if (slot.Current is { IsAlive: true } alive)
            {
                return alive;
            }
        }

        var candidates = _addresses.Keys.Where(id => id >= 0).OrderBy(id => id).ToList();
        candidates.AddRange(_bootstrapIds);
        var start = Interlocked.Increment(ref _roundRobin);
        Exception? last = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            var nodeId = candidates[(int)((uint)(start + i) % (uint)candidates.Count)];
            try
            {
                return await GetConnectionAsync(nodeId, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaRetriableException ex)
            {
                last = ex;
            }
        }

        throw new KafkaRetriableException(ErrorCode.NetworkException,
            $"No broker is reachable (bootstrap.servers={Options.BootstrapServers}).", last);
    }

    /// <summary>The open connection to <paramref name="nodeId"/>, connecting (after any back-off) if needed.</summary>
    public async Task<BrokerConnection> GetConnectionAsync(int nodeId, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        var slot = _slots.GetOrAdd(nodeId, static _ => new NodeSlot());
        Task<BrokerConnection> connecting;
        lock (slot)
        {
            if (slot.Current is { IsAlive: true } current)
            {
                return current;
            }

            if (slot.Connecting is null || slot.Connecting.IsCompleted)
            {
                slot.Connecting = ConnectAsync(nodeId, slot);
            }

            connecting = slot.Connecting;
        }

        return await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<BrokerConnection> ConnectAsync(int nodeId, NodeSlot slot)
    {
        await Task.Yield();
        if (!_addresses.TryGetValue(nodeId, out var endPoint))
        {
            Metadata.RequestUpdate();
            throw new KafkaRetriableException(ErrorCode.NetworkException, $"The address of broker {nodeId} is unknown.");
        }

        var wait = slot.NextAttempt - Time.GetTimestamp();
        if (slot.Failures > 0 && wait > 0)
        {
            await Task.Delay(Time.GetElapsedTime(0, wait), Time, _disposed.Token).ConfigureAwait(false);
        }

        try
        {
            var connection = await BrokerConnection.ConnectAsync(nodeId, endPoint, _factory, Options,
                _logger, _disposed.Token).ConfigureAwait(false);
            lock (slot)
            {
                slot.Current = connection;
                slot.Failures = 0;
            }

            Log.Connected(_logger, nodeId, endPoint);
            return connection;
        }
        catch (KafkaException ex)
        {
            lock (slot)
            {
                var backoff = Jitter(Options.ReconnectBackoff, Options.ReconnectBackoffMax, slot.Failures);
                slot.Failures++;
                slot.NextAttempt = Time.GetTimestamp() + (long)(backoff.TotalSeconds * Time.TimestampFrequency);
            }

            Log.ConnectFailed(_logger, nodeId, endPoint, ex.Message);
            throw;
        }
    }

    /// <summary>Finalized <c>transaction.version</c> as advertised by any broker (KIP-890 TV2 detection).</summary>
    public async Task<short> TransactionVersionAsync(CancellationToken cancellationToken)
    {
        var connection = await GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false);
        return connection.Versions.TransactionVersion;
    }

    /// <summary>
    /// The coordinator node for <paramref name="key"/> (FindCoordinator; v4+ batched form, older versions the single
    /// Key). Retries COORDINATOR_NOT_AVAILABLE and other retriable errors until <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<int> FindCoordinatorAsync(CoordinatorType type, string key, CancellationToken cancellationToken)
    {
        if (_coordinators.TryGetValue((type, key), out var cached))
        {
            return cached;
        }

        for (var attempt = 0; ; attempt++)
        {
            ErrorCode error;
            try
            {
                var connection = await GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false);
                var version = NegotiateVersion<FindCoordinatorRequest, FindCoordinatorResponse>(connection);
                var request = new FindCoordinatorRequest { KeyType = (sbyte)type };
                if (version >= 4)
                {
                    request.CoordinatorKeys.Add(key);
                }
                else
                {
                    request.Key = key;
                }

                var response = (await connection.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(
                    request, version, expectResponse: true, cancellationToken).ConfigureAwait(false))!;
                int nodeId;
                string host;
                int port;
                if (version >= 4)
                {
                    var coordinator = response.Coordinators.FirstOrDefault(c => c.Key == key)
                        ?? throw new KafkaProtocolException("FindCoordinator response lacks the requested key.");
                    (error, nodeId, host, port) =
                        ((ErrorCode)coordinator.ErrorCode, coordinator.NodeId, coordinator.Host, coordinator.Port);
                }
                else
                {
                    (error, nodeId, host, port) = ((ErrorCode)response.ErrorCode, response.NodeId, response.Host,
                        response.Port);
                }

                if (error == ErrorCode.None)
                {
                    UpdateBrokers([new BrokerNode(nodeId, host, port)]);
                    _coordinators[(type, key)] = nodeId;
                    return nodeId;
                }

                if (!error.IsRetriable())
                {
                    throw KafkaException.FromErrorCode(error, $"FindCoordinator({type}, '{key}')");
                }
            }
            catch (KafkaRetriableException ex)
            {
                error = ex.ErrorCode;
            }

            Log.CoordinatorRetry(_logger, type, key, error);
            await Task.Delay(Backoff(attempt), Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets a coordinator after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.</summary>
    public void InvalidateCoordinator(CoordinatorType type, string key) => _coordinators.TryRemove((type, key), out _);

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        foreach (var slot in _slots.Values)
        {
            if (slot.Current is { } connection)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Connection state of one node; fields guarded by locking the slot.</summary>
    private sealed class NodeSlot
    {
        public BrokerConnection? Current { get; set; }

        public Task<BrokerConnection>? Connecting { get; set; }

        public int Failures { get; set; }

        public long NextAttempt { get; set; }
    }
}
