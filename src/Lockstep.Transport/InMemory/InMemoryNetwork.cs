using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport.InMemory;

/// <summary>
/// A socketless network for tests, benchmarks and simulation: listeners bind to endpoints of this instance (any
/// <see cref="EndPoint"/> with value equality works, e.g. <see cref="InMemoryEndPoint"/> or a fake
/// <see cref="IPEndPoint"/>), and <see cref="ConnectAsync"/> joins a client to the listener bound there. Separate
/// instances are separate networks, so parallel tests never see each other's endpoints.
/// </summary>
/// <example>
/// <code>
/// var network = new InMemoryNetwork();
/// await using var listener = network.Listen(new InMemoryEndPoint("broker-0"));
/// await using var client = await network.ConnectAsync(listener.LocalEndPoint);
/// await using var server = await listener.AcceptAsync();
/// </code>
/// </example>
public sealed class InMemoryNetwork : IConnectionFactory
{
    private readonly TransportOptions _options;
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly Dictionary<EndPoint, InMemoryConnectionListener> _listeners = [];
    private long _nextClientId;

    /// <summary>Creates an empty network whose connections use <paramref name="options"/>.</summary>
    /// <param name="options">Pipe limits for every connection; <see cref="TransportOptions.Default"/> if null.</param>
    public InMemoryNetwork(TransportOptions? options = null)
    {
        _options = options ?? TransportOptions.Default;
    }

    /// <summary>Binds a listener to <paramref name="endPoint"/> until the listener is disposed.</summary>
    /// <param name="endPoint">The address clients will connect to.</param>
    /// <param name="backlog">Connections that may wait to be accepted before connecting blocks.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="SocketException"><see cref="SocketError.AddressAlreadyInUse"/>, as TCP would report.
    /// </exception>
    public IConnectionListener Listen(EndPoint endPoint, int backlog = 512)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentOutOfRangeException.ThrowIfLessThan(backlog, 1);
        lock (_lock)
        {
            if (_listeners.ContainsKey(endPoint))
            {
                throw new SocketException((int)SocketError.AddressAlreadyInUse);
            }

            var listener = new InMemoryConnectionListener(this, endPoint, backlog);
            _listeners.Add(endPoint, listener);
            return listener;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        InMemoryConnectionListener? listener;
        long clientId;
        lock (_lock)
        {
            _listeners.TryGetValue(endPoint, out listener);
            clientId = ++_nextClientId;
        }

        if (listener is null)
        {
            throw new SocketException((int)SocketError.ConnectionRefused);
        }

        var (client, server) = InMemoryConnection.CreatePair(
            new InMemoryEndPoint($"client-{clientId}"), endPoint, _options);
        client.Start();
        server.Start();
        bool queued;
        try
        {
            queued = await listener.EnqueueAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            server.Abort("The connect attempt was cancelled.");
            client.Abort("The connect attempt was cancelled.");
            throw;
        }

        if (!queued)
        {
            server.Abort("Connection refused: the listener was disposed.");
            client.Abort("Connection refused: the listener was disposed.");
            throw new SocketException((int)SocketError.ConnectionRefused);
        }

        return client;
    }

    internal void Unbind(InMemoryConnectionListener listener)
    {
        lock (_lock)
        {
            if (_listeners.TryGetValue(listener.LocalEndPoint, out var bound) && ReferenceEquals(bound, listener))
            {
                _listeners.Remove(listener.LocalEndPoint);
            }
        }
    }
}
