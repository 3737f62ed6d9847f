using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker;

/// <summary>
/// The broker's instruments on the <c>Lockstep.Broker</c> meter (System.Diagnostics.Metrics), readable with
/// <c>dotnet-counters</c>, OpenTelemetry or a <see cref="MeterListener"/>. Tags follow OpenTelemetry's messaging
/// conventions where one exists.
/// </summary>
public sealed class BrokerMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Lockstep.Broker";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _bytesIn;
    private readonly Counter<long> _bytesOut;
    private readonly UpDownCounter<long> _connections;

    /// <summary>Creates the instruments; <paramref name="meterFactory"/> may be null outside dependency injection.</summary>
    public BrokerMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("lockstep.broker.requests", "{request}", "Requests served, by API.");
        _requestDuration = _meter.CreateHistogram<double>(
            "lockstep.broker.request.duration", "s", "Time from decoding a request to its response being ready, by API.");
        _bytesIn = _meter.CreateCounter<long>("lockstep.broker.bytes_in", "By", "Request bytes received.");
        _bytesOut = _meter.CreateCounter<long>("lockstep.broker.bytes_out", "By", "Response bytes sent.");
        _connections = _meter.CreateUpDownCounter<long>("lockstep.broker.connections", "{connection}", "Open client connections.");
    }

    /// <summary>The meter, for components that add their own instruments (log end offsets, transactions).</summary>
    public Meter Meter => _meter;

    internal void RequestCompleted(ApiKey apiKey, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("kafka.api", apiKey.ToString());
        _requests.Add(1, tag);
        _requestDuration.Record(elapsed.TotalSeconds, tag);
    }

    internal void BytesIn(long count) => _bytesIn.Add(count);

    internal void BytesOut(long count) => _bytesOut.Add(count);

    internal void ConnectionOpened() => _connections.Add(1);

    internal void ConnectionClosed() => _connections.Add(-1);

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
