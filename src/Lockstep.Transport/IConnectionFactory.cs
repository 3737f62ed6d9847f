using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport;

/// <summary>
/// Opens outbound connections. The client takes this interface (never a socket) so the same code runs over TCP and
/// over <see cref="InMemory.InMemoryNetwork"/> (style-guide.md §3.2 rule 5).
/// </summary>
public interface IConnectionFactory
{
    /// <summary>
    /// Connects to <paramref name="endPoint"/>. When nothing listens there, both transports throw
    /// <see cref="SocketException"/> with <see cref="SocketError.ConnectionRefused"/>, so client retry code has one
    /// path to handle.
    /// </summary>
    /// <param name="endPoint">An <see cref="IPEndPoint"/> or <see cref="DnsEndPoint"/> for sockets; the listener's
    /// endpoint for the in-memory transport.</param>
    /// <param name="cancellationToken">Cancels the connect attempt.</param>
    ValueTask<IConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken = default);
}
