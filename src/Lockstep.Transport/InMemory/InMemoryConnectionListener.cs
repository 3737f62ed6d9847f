using System.Net;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Lockstep.Transport.InMemory;

/// <summary>
/// Listener side of <see cref="InMemoryNetwork"/>: a bounded queue of connected server ends, the counterpart of a TCP
/// listen backlog.
/// </summary>
internal sealed class InMemoryConnectionListener : IConnectionListener
{
    private readonly InMemoryNetwork _network;
    private readonly Channel<InMemoryConnection> _backlog;

    internal InMemoryConnectionListener(InMemoryNetwork network, EndPoint localEndPoint, int backlog)
    {
        _network = network;
        LocalEndPoint = localEndPoint;

        // Bounded like a listen backlog: a connect beyond it waits until the server accepts.
        _backlog = Channel.CreateBounded<InMemoryConnection>(new BoundedChannelOptions(backlog)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    public EndPoint LocalEndPoint { get; }

    public async ValueTask<IConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (await _backlog.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_backlog.Reader.TryRead(out var connection))
            {
                return connection;
            }
        }

        return null;
    }

    /// <summary>Queues a connected server end; false when the listener is disposed (connection refused).</summary>
    internal async ValueTask<bool> EnqueueAsync(InMemoryConnection server, CancellationToken cancellationToken)
    {
        try
        {
            await _backlog.Writer.WriteAsync(server, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _network.Unbind(this);
        if (_backlog.Writer.TryComplete())
        {
            // Connections queued but never accepted are refused from the client's point of view: it sees end of
            // stream, like a TCP client whose queued connection is reset when the listen socket closes.
            while (_backlog.Reader.TryRead(out var pending))
            {
                pending.Abort("The listener was disposed before accepting the connection.");
            }
        }

        return ValueTask.CompletedTask;
    }
}
