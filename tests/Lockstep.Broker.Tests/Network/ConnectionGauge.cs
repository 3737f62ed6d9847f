using System.Diagnostics.Metrics;

namespace Lockstep.Broker.Tests.Network;

/// <summary>
/// Follows one broker's <c>lockstep.broker.connections</c> up-down counter through a <see cref="MeterListener"/>,
/// so a test can observe that the broker (not just the client) ended a session. Only the given broker's meter is
/// followed: other tests' brokers share the meter name.
/// </summary>
internal sealed class ConnectionGauge : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _open;

    public ConnectionGauge(KafkaBroker broker)
    {
        var meter = broker.Metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "lockstep.broker.connections")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, delta, _, _) => Interlocked.Add(ref _open, delta));
        _listener.Start();
    }

    /// <summary>Sessions opened minus sessions ended since this gauge was created.</summary>
    public long Open => Interlocked.Read(ref _open);

    /// <summary>Waits (bounded) until <see cref="Open"/> equals <paramref name="expected"/>.</summary>
    public async Task<bool> WaitForAsync(long expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (Open != expected)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    public void Dispose() => _listener.Dispose();
}
