using System.Net;
using Lockstep.Transport;

namespace Lockstep.Client.Tests.Harness;

/// <summary>
/// Wraps a connection factory and aborts live connections at random moments (seeded), as a flaky network would:
/// requests in flight are lost, and their responses may or may not have been produced by the broker. Used to check
/// that idempotent retries neither duplicate nor reorder records.
/// </summary>
public sealed class FaultInjectingConnectionFactory : IConnectionFactory, IAsyncDisposable
{
    private readonly IConnectionFactory _inner;
    private readonly Random _random;
    private readonly List<IConnection> _live = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _killer;

    public FaultInjectingConnectionFactory(IConnectionFactory inner, int seed, TimeSpan meanInterval)
    {
        _inner = inner;
        _random = new Random(seed);
        _killer = KillLoopAsync(meanInterval);
    }

    /// <summary>Connections aborted so far.</summary>
    public int Kills { get; private set; }

    public async ValueTask<IConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        var connection = await _inner.ConnectAsync(endPoint, cancellationToken);
        lock (_live)
        {
            _live.Add(connection);
        }

        return connection;
    }

    private async Task KillLoopAsync(TimeSpan meanInterval)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int delayMs;
                lock (_random)
                {
                    delayMs = 1 + _random.Next((int)(meanInterval.TotalMilliseconds * 2));
                }

                await Task.Delay(delayMs, _stop.Token);
                lock (_live)
                {
                    _live.RemoveAll(c => c.CloseReason is not null);
                    if (_live.Count == 0)
                    {
                        continue;
                    }

                    var victim = _live[_random.Next(_live.Count)];
                    victim.Abort("fault injection: connection killed");
                    Kills++;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _killer;
        _stop.Dispose();
    }
}
