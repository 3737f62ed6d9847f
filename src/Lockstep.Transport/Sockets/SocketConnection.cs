using System;
using System.Buffers;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport.Sockets;

/// <summary>
/// A connected TCP socket behind the two pipes of <see cref="DuplexPipeConnection"/>. Reads and writes go straight to
/// <see cref="Socket"/> (no <see cref="NetworkStream"/>), as in Kestrel's SocketConnection.
/// </summary>
internal sealed class SocketConnection : DuplexPipeConnection
{
    private SocketConnection(Socket socket, SocketTransportOptions options)
        : base(socket.LocalEndPoint, socket.RemoteEndPoint, options)
    {
        Socket = socket;
    }

    /// <summary>The underlying socket; exposed to tests to check options such as NoDelay.</summary>
    internal Socket Socket { get; }

    /// <summary>Wraps a connected socket (taking ownership) and starts its loops.</summary>
    internal static SocketConnection Start(Socket socket, SocketTransportOptions options)
    {
        socket.NoDelay = options.NoDelay;
        var connection = new SocketConnection(socket, options);
        connection.Start();
        return connection;
    }

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    protected override async ValueTask SendAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        foreach (var segment in data)
        {
            var remaining = segment;
            while (!remaining.IsEmpty)
            {
                var sent = await Socket.SendAsync(remaining, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                remaining = remaining[sent..];
            }
        }
    }

    protected override void OnShutdown()
    {
        // Kestrel's SocketConnection.Shutdown: send FIN after whatever the kernel already holds, then dispose, which
        // also fails any receive or send that ignored the cancellation token.
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset or not connected; disposing below is all that is left to do.
        }
        catch (ObjectDisposedException)
        {
        }

        Socket.Dispose();
    }

    protected override ValueTask CloseTransportAsync()
    {
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }

    protected override string DescribeError(Exception error) => error is SocketException socketError
        ? $"Socket error {socketError.SocketErrorCode}: {socketError.Message}"
        : base.DescribeError(error);
}
