using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Handlers;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Partitions;

/// <summary>
/// The broker's data plane as a component: the Metadata, Produce, Fetch, ListOffsets, DeleteRecords,
/// OffsetForLeaderEpoch and DescribeProducers handlers, the producer id manager, and the periodic housekeeping —
/// retention every <c>log.retention.check.interval.ms</c> and idle-producer expiration — on the broker's
/// <see cref="TimeProvider"/>. Also publishes each partition's log end offset and LSO lag as observable gauges.
/// </summary>
internal sealed partial class DataPlane : IBrokerComponent
{
    /// <summary>How often idle producers are expired (Kafka's <c>producer.id.expiration.check.interval.ms</c>
    /// default, 10 minutes; not a Lockstep setting).</summary>
    public static readonly TimeSpan ProducerExpirationCheckInterval = TimeSpan.FromMinutes(10);

    private readonly BrokerCore _core;
    private readonly ILogger _logger;
    private ITimer? _retentionTimer;
    private ITimer? _expirationTimer;
    private int _retentionRunning;

    /// <summary>Creates the component.</summary>
    public DataPlane(BrokerCore core)
    {
        _core = core;
        _logger = core.LoggerFactory.CreateLogger<DataPlane>();
        ProducerIds = new ProducerIdManager(core);
    }

    /// <summary>Producer id allocation (InitProducerId; issue 4's transaction coordinator shares it).</summary>
    public ProducerIdManager ProducerIds { get; }

    /// <inheritdoc />
    public void Open()
    {
        ProducerIds.Open();
        _core.Metrics.Meter.CreateObservableGauge(
            "lockstep.broker.log_end_offset",
            ObserveLogEndOffsets,
            "{offset}",
            "Log end offset per partition.");
        _core.Metrics.Meter.CreateObservableGauge(
            "lockstep.broker.lso_lag",
            ObserveLastStableOffsetLags,
            "{offset}",
            "High watermark minus last stable offset per partition: how far open (or not yet durable) transactions hold read_committed consumers back (kip939-spec.md §8.5).");
    }

    /// <inheritdoc />
    public void Start(CancellationToken stopping)
    {
        var retention = TimeSpan.FromMilliseconds(_core.Config.RetentionCheckIntervalMs);
        _retentionTimer = _core.Time.CreateTimer(_ => RunRetention(), null, retention, retention);
        _expirationTimer = _core.Time.CreateTimer(_ => ExpireProducers(), null,
            ProducerExpirationCheckInterval, ProducerExpirationCheckInterval);
        stopping.Register(StopTimers);
    }

    /// <inheritdoc />
    public IEnumerable<IApiHandler> CreateHandlers() =>
    [
        new MetadataHandler(_core),
        new ProduceHandler(_core),
        new FetchHandler(_core),
        new ListOffsetsHandler(_core),
        new DeleteRecordsHandler(_core),
        new OffsetForLeaderEpochHandler(_core),
        new DescribeProducersHandler(_core),
    ];

    /// <summary>Applies retention to every log once (the timer's work; also callable from tests).</summary>
    public int RunRetention()
    {
        // Timer callbacks may overlap when a pass is slower than the interval; skip rather than pile up.
        if (Interlocked.Exchange(ref _retentionRunning, 1) == 1)
        {
            return 0;
        }

        try
        {
            var deleted = _core.Logs.ApplyRetention();
            if (deleted > 0)
            {
                LogRetention(deleted);
            }

            return deleted;
        }
        catch (Exception e) when (e is System.IO.IOException or ObjectDisposedException)
        {
            LogRetentionFailed(e);
            return 0;
        }
        finally
        {
            Volatile.Write(ref _retentionRunning, 0);
        }
    }

    /// <summary>Forgets producers idle longer than <c>producer.id.expiration.ms</c> on every partition.</summary>
    public int ExpireProducers()
    {
        var now = _core.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var expiration = _core.Config.ProducerIdExpirationMs;
        var expired = ProducerIds.Expire(now, expiration);
        foreach (var topic in _core.Topics.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                expired += partition.ExpireProducers(now, expiration);
            }
        }

        return expired;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        StopTimers();
        if (_retentionTimer is not null)
        {
            await _retentionTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_expirationTimer is not null)
        {
            await _expirationTimer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void StopTimers()
    {
        _retentionTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _expirationTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private IEnumerable<Measurement<long>> ObserveLogEndOffsets() =>
        _core.Topics.Topics.SelectMany(t => t.Partitions).Select(p => new Measurement<long>(
            p.Log.LogEndOffset,
            new KeyValuePair<string, object?>("messaging.destination.name", p.Id.Topic),
            new KeyValuePair<string, object?>("messaging.destination.partition.id", p.Id.Partition)));

    private IEnumerable<Measurement<long>> ObserveLastStableOffsetLags() =>
        _core.Topics.Topics.SelectMany(t => t.Partitions).Select(p => new Measurement<long>(
            Math.Max(0, p.Log.HighWatermark - p.Log.LastStableOffset),
            new KeyValuePair<string, object?>("messaging.destination.name", p.Id.Topic),
            new KeyValuePair<string, object?>("messaging.destination.partition.id", p.Id.Partition)));

    [LoggerMessage(Level = LogLevel.Information, Message = "retention deleted {Segments} segment(s)")]
    private partial void LogRetention(int segments);

    [LoggerMessage(Level = LogLevel.Warning, Message = "retention pass failed")]
    private partial void LogRetentionFailed(Exception e);
}
