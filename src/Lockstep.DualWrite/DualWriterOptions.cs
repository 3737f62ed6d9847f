using System;
using Lockstep.Client;
using Microsoft.Extensions.Logging;

namespace Lockstep.DualWrite;

/// <summary>Settings of one <see cref="DualWriter"/>.</summary>
public sealed class DualWriterOptions
{
    /// <summary>
    /// The Kafka <c>transactional.id</c>, which is also the key of the state row. Exactly one live writer may use an
    /// id at a time: a second one fences the first (dual-write.md §2: scale out with a pool of ids, not by sharing
    /// one). Required.
    /// </summary>
    public string TransactionalId { get; set; } = string.Empty;

    /// <summary>Kafka <c>bootstrap.servers</c>. Required.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>Optional further producer settings (timeouts, linger, compression, logging). The writer sets
    /// <see cref="KafkaProducerOptions.TransactionalId"/>, <see cref="KafkaClientOptions.BootstrapServers"/> and
    /// <see cref="KafkaProducerOptions.TransactionTwoPhaseCommitEnable"/> after this runs; those cannot be
    /// overridden.</summary>
    public Action<KafkaProducerOptions>? ConfigureProducer { get; set; }

    /// <summary>Told about every completed recipe step (crash injection, tracing); null for none.</summary>
    public IDualWriteObserver? Observer { get; set; }

    /// <summary>How long disposing a broken or fenced producer may take before it is abandoned (its connections are
    /// closed anyway; a prepared transaction stays on the broker for recovery). Default 5 seconds.</summary>
    public TimeSpan ProducerCloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where recoveries, fencing and in-doubt commits are logged; null for none. Metrics and traces go
    /// through <see cref="Diagnostics.DualWriteTelemetry"/> regardless.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>The clock for latency metrics and the prepared-transaction age. Default <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(TransactionalId, nameof(TransactionalId));
        ArgumentException.ThrowIfNullOrWhiteSpace(BootstrapServers, nameof(BootstrapServers));
    }
}
