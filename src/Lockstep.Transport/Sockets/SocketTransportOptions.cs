namespace Lockstep.Transport.Sockets;

/// <summary>TCP settings on top of the shared buffering limits.</summary>
public sealed class SocketTransportOptions : TransportOptions
{
    /// <summary>
    /// Disables Nagle's algorithm (TCP_NODELAY). On by default: Kafka requests and responses are small and
    /// latency-bound, and Kafka's own SocketServer and NetworkClient set it too (<c>socket.setTcpNoDelay(true)</c>).
    /// </summary>
    public bool NoDelay { get; init; } = true;

    /// <summary>Pending-connection queue length passed to <c>listen()</c>. Default 512.</summary>
    public int Backlog { get; init; } = 512;

    /// <summary>The defaults, shared.</summary>
    public static new SocketTransportOptions Default { get; } = new();
}
