using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Lockstep.DualWrite.Tests.Redis;

/// <summary>What <see cref="RedisFaultProxy"/> does to the next <c>EXEC</c> it sees.</summary>
internal enum ExecFault
{
    /// <summary>Forward everything.</summary>
    None,

    /// <summary>Cut the connection instead of forwarding <c>EXEC</c>: Redis never applies the transaction (a
    /// connection that closes after <c>MULTI</c> discards its queue), the client sees a broken connection.</summary>
    DropBeforeExec,

    /// <summary>Forward <c>EXEC</c>, wait until Redis starts replying to it (so it has been applied), then cut the
    /// connection without forwarding the reply: "committed, outcome unknown" for the client.</summary>
    CutAfterExec,
}

/// <summary>
/// A TCP proxy between StackExchange.Redis and the Redis server that breaks the connection around one <c>EXEC</c>
/// (dual-write.md failure table, row "commit outcome unknown"). Connections made after the fault are forwarded
/// normally, so the writer's re-read of the token goes through once the client reconnects.
/// </summary>
internal sealed class RedisFaultProxy : IAsyncDisposable
{
    // How StackExchange.Redis writes EXEC (a RESP array of one bulk string); it never appears in our test data.
    private static readonly byte[] s_exec = Encoding.ASCII.GetBytes("*1\r\n$4\r\nEXEC\r\n");

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly List<Socket> _sockets = [];
    private readonly Lock _gate = new();
    private ExecFault _armed;
    private int _faults;

    public RedisFaultProxy(string target)
    {
        var colon = target.LastIndexOf(':');
        _target = new IPEndPoint(IPAddress.Parse(target[..colon]), int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>host:port to connect to instead of the server.</summary>
    public string Endpoint => "127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>How many faults were injected so far.</summary>
    public int Faults => Volatile.Read(ref _faults);

    /// <summary>Applies <paramref name="fault"/> to the next <c>EXEC</c> on any connection, once.</summary>
    public void Arm(ExecFault fault)
    {
        lock (_gate)
        {
            _armed = fault;
        }
    }

    private ExecFault TakeArmed()
    {
        lock (_gate)
        {
            var fault = _armed;
            _armed = ExecFault.None;
            return fault;
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                client.NoDelay = true;
                await server.ConnectAsync(_target, _stop.Token);
                lock (_gate)
                {
                    _sockets.Add(client);
                    _sockets.Add(server);
                }

                _ = new Pair(this, client, server).RunAsync();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        lock (_gate)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        _stop.Dispose();
    }

    /// <summary>One proxied connection: two pumps, and the fault state of this connection.</summary>
    private sealed class Pair(RedisFaultProxy proxy, Socket client, Socket server)
    {
        // Set (before EXEC is written to the server) when this connection is cutting after EXEC: from then on nothing
        // from the server reaches the client.
        private volatile bool _swallowReplies;
        private readonly TaskCompletionSource _execReplied = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task RunAsync() => Task.WhenAll(ClientToServerAsync(), ServerToClientAsync());

        private async Task ClientToServerAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var read = await client.ReceiveAsync(buffer, SocketFlags.None);
                    if (read == 0)
                    {
                        break;
                    }

                    var at = buffer.AsSpan(0, read).IndexOf(s_exec);
                    var fault = at >= 0 ? proxy.TakeArmed() : ExecFault.None;
                    switch (fault)
                    {
                        case ExecFault.DropBeforeExec:
                            await server.SendAsync(buffer.AsMemory(0, at), SocketFlags.None);
                            Interlocked.Increment(ref proxy._faults);
                            Cut();
                            return;
                        case ExecFault.CutAfterExec:
                            _swallowReplies = true;
                            await server.SendAsync(buffer.AsMemory(0, at + s_exec.Length), SocketFlags.None);
                            // Redis replies to EXEC only after executing it: once that reply starts, it is applied.
                            await _execReplied.Task.WaitAsync(TimeSpan.FromSeconds(10));
                            Interlocked.Increment(ref proxy._faults);
                            Cut();
                            return;
                        default:
                            await server.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            Cut();
        }

        private async Task ServerToClientAsync()
        {
            var buffer = new byte[64 * 1024];
            var swallowed = new StringBuilder();
            try
            {
                while (true)
                {
                    var read = await server.ReceiveAsync(buffer, SocketFlags.None);
                    if (read == 0)
                    {
                        break;
                    }

                    if (!_swallowReplies)
                    {
                        await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                        continue;
                    }

                    // Swallowing: the replies to MULTI and the queued commands are simple strings ("+OK", "+QUEUED");
                    // the reply to EXEC is an array ("*N", or "*-1" / "_" when not applied) or an error.
                    swallowed.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    var text = "\r\n" + swallowed;
                    if (text.Contains("\r\n*", StringComparison.Ordinal) || text.Contains("\r\n_", StringComparison.Ordinal)
                        || text.Contains("\r\n-", StringComparison.Ordinal))
                    {
                        _execReplied.TrySetResult();
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            Cut();
        }

        private void Cut()
        {
            // Client side first, so it sees the connection end; then the server side (Redis drops its WATCH/MULTI state).
            try
            {
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            client.Close();
            server.Close();
        }
    }
}
