using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport.Sockets;

/// <summary>A TCP listener producing <see cref="IConnection"/>s; the broker's production listener.</summary>
public sealed class SocketConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly SocketTransportOptions _options;
    private int _disposed;

    private SocketConnectionListener(Socket listenSocket, SocketTransportOptions options)
    {
        _listenSocket = listenSocket;
        _options = options;
        LocalEndPoint = listenSocket.LocalEndPoint!;
    }

    /// <inheritdoc />
    public EndPoint LocalEndPoint { get; }

    /// <summary>
    /// Binds and starts listening. Use <c>new IPEndPoint(IPAddress.Loopback, 0)</c> in tests and read the chosen
    /// port from <see cref="LocalEndPoint"/>.
    /// </summary>
    /// <param name="endPoint">Where to listen; an <see cref="IPEndPoint"/> (IPv4 or IPv6).</param>
    /// <param name="options">TCP and buffering settings; <see cref="SocketTransportOptions.Default"/> if null.</param>
    /// <returns>The listening listener.</returns>
    /// <exception cref="SocketException">The address is in use or not available.</exception>
    public static SocketConnectionListener Bind(EndPoint endPoint, SocketTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        options ??= SocketTransportOptions.Default;
        var socket = endPoint is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new SocketConnectionListener(socket, options);
    }

    /// <inheritdoc />
    public async ValueTask<IConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            try
            {
                var socket = await _listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                return SocketConnection.Start(socket, _options);
            }
            catch (ObjectDisposedException) when (Volatile.Read(ref _disposed) != 0)
            {
                return null;
            }
            catch (SocketException ex) when (Volatile.Read(ref _disposed) != 0 ||
                                             ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                // The client gave up before we accepted it; Kestrel also just accepts the next one.
            }
        }
    }

    /// <summary>Stops listening; <see cref="AcceptAsync"/> then returns null. Accepted connections stay open (their
    /// owners close them), as with Kestrel's UnbindAsync.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listenSocket.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
