using System.Net;
using System.Net.Sockets;

namespace Lockstep.DualWrite.Tests.PostgreSql;

/// <summary>
/// A loopback TCP proxy between Npgsql and PostgreSQL that can lose the answer to a COMMIT: once armed, the next
/// PostgreSQL simple-query message <c>COMMIT</c> sent by a client is forwarded to the server — which executes it — and
/// then both sockets are closed before any byte of the response is relayed. The client sees its connection die during
/// COMMIT although the transaction committed: the "commit outcome unknown" row of dual-write.md's failure table.
/// </summary>
/// <remarks>Recognises the exact bytes Npgsql sends for <c>NpgsqlTransaction.Commit</c>: a Query message
/// ('Q', int32 length 11, "COMMIT\0"; PostgreSQL protocol docs, "Message Formats"). The connection must be
/// unencrypted (<c>SSL Mode=Disable</c>) for the bytes to be visible.</remarks>
internal sealed class TcpCutProxy : IAsyncDisposable
{
    private static readonly byte[] s_commitMessage = [(byte)'Q', 0, 0, 0, 11, .. "COMMIT\0"u8];

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Task _acceptLoop;
    private int _armed;
    private int _accepted;
    private int _cuts;

    public TcpCutProxy(string targetHost, int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Parse(targetHost), targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Client connections accepted so far (each is one physical Npgsql connection).</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>COMMITs whose answer was dropped so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>Loses the answer of the next COMMIT (once).</summary>
    public void ArmCutOnNextCommit() => Volatile.Write(ref _armed, 1);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            var server = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await server.ConnectAsync(_target, _stop.Token);
            client.NoDelay = true;
            var pair = new Pair(client, server);
            lock (_pumps)
            {
                _pumps.Add(ClientToServerAsync(pair));
                _pumps.Add(ServerToClientAsync(pair));
            }
        }
    }

    private async Task ClientToServerAsync(Pair pair)
    {
        var buffer = new byte[64 * 1024];
        var tail = Array.Empty<byte>();
        try
        {
            while (true)
            {
                var read = await pair.Client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                // Search the previous chunk's tail + this chunk, so a message split across reads is still found.
                var window = tail.Concat(buffer.Take(read)).ToArray();
                if (window.AsSpan().IndexOf(s_commitMessage) >= 0 && Interlocked.Exchange(ref _armed, 0) == 1)
                {
                    // Set before forwarding, so the server's answer can only be read after the pair is marked.
                    pair.DropResponse = true;
                }

                tail = window[Math.Max(0, window.Length - s_commitMessage.Length + 1)..];
                await pair.Server.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception) when (pair.Closed || _stop.IsCancellationRequested)
        {
        }
        catch (SocketException)
        {
        }
        finally
        {
            pair.Close();
        }
    }

    private async Task ServerToClientAsync(Pair pair)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await pair.Server.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                if (pair.DropResponse)
                {
                    // The server answered the COMMIT (CommandComplete + ReadyForQuery), so it has committed; the client
                    // never gets to know.
                    Interlocked.Increment(ref _cuts);
                    break;
                }

                await pair.Client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception) when (pair.Closed || _stop.IsCancellationRequested)
        {
        }
        catch (SocketException)
        {
        }
        finally
        {
            pair.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] pumps;
        lock (_pumps)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps.Append(_acceptLoop)).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private sealed class Pair(Socket client, Socket server)
    {
        private int _closed;

        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        public volatile bool DropResponse;

        public bool Closed => Volatile.Read(ref _closed) == 1;

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 1)
            {
                return;
            }

            // Linger 0: a reset, like a network failure, rather than an orderly FIN.
            Client.LingerState = new LingerOption(true, 0);
            Client.Close();
            Server.Close();
        }
    }
}
