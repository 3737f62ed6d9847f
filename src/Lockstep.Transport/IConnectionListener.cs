using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport;

/// <summary>
/// Accepts inbound connections on one endpoint. The broker takes this interface (never a socket) so the same code
/// runs over TCP and over <see cref="InMemory.InMemoryNetwork"/> (style-guide.md §3.2 rule 5).
/// </summary>
public interface IConnectionListener : IAsyncDisposable
{
    /// <summary>The endpoint actually bound; for TCP with port 0 this carries the port the OS chose.</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>
    /// Waits for the next inbound connection. Returns null once the listener has been disposed, so an accept loop
    /// is <c>while (await listener.AcceptAsync(ct) is { } connection)</c>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (throws <see cref="OperationCanceledException"/>).</param>
    ValueTask<IConnection?> AcceptAsync(CancellationToken cancellationToken = default);
}
