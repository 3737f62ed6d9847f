using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport.Sockets;

/// <summary>Opens TCP connections; the client's production <see cref="IConnectionFactory"/>.</summary>
public sealed class SocketConnectionFactory : IConnectionFactory
{
    private readonly SocketTransportOptions _options;

    /// <summary>Creates a factory whose connections use <paramref name="options"/>.</summary>
    /// <param name="options">TCP and buffering settings; <see cref="SocketTransportOptions.Default"/> if null.</param>
    public SocketConnectionFactory(SocketTransportOptions? options = null)
    {
        _options = options ?? SocketTransportOptions.Default;
    }

    /// <inheritdoc />
    public async ValueTask<IConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);

        // A DnsEndPoint ("localhost:9092") has no address family yet: the parameterless-family constructor makes a
        // dual-mode IPv6 socket where supported, which reaches IPv4 addresses too.
        var socket = endPoint is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = _options.NoDelay;
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return SocketConnection.Start(socket, _options);
    }
}
