using System;
using System.Collections.Generic;
using Lockstep.Protocol.Records;

namespace Lockstep.Client;

/// <summary>
/// Producer settings (Kafka's <c>ProducerConfig</c> names and defaults, Kafka 4.x) on top of
/// <see cref="KafkaClientOptions"/>.
/// </summary>
public sealed class KafkaProducerOptions : KafkaClientOptions
{
    /// <summary>Largest <c>max.in.flight.requests.per.connection</c> compatible with idempotence: the broker keeps
    /// the last 5 batches per producer for duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN).</summary>
    public const int MaxInFlightForIdempotence = 5;

    private bool _transactionTimeoutSet;
    private TimeSpan _transactionTimeout = TimeSpan.FromMinutes(1);

    /// <summary>Creates options from Kafka-named settings; unknown keys are rejected.</summary>
    /// <param name="config">Settings such as <c>bootstrap.servers</c>, <c>linger.ms</c>, <c>transactional.id</c>.
    /// </param>
    /// <returns>The options.</returns>
    public static KafkaProducerOptions FromConfig(IEnumerable<KeyValuePair<string, string>> config)
    {
        var options = new KafkaProducerOptions();
        options.SetAll(config);
        return options;
    }

    /// <summary><c>acks</c> (default all). Idempotence requires <see cref="Acks.All"/>.</summary>
    public Acks Acks { get; set; } = Acks.All;

    /// <summary><c>linger.ms</c> (default 5 ms, Kafka 4.0's default): how long a partition's batch may wait for more
    /// records before it is sent.</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary><c>batch.size</c> (default 16384): a partition's batch is sent once its records reach this many
    /// bytes (uncompressed). A single larger record still goes out, alone in its batch.</summary>
    public int BatchSize { get; set; } = 16384;

    /// <summary><c>compression.type</c> (default none): none, gzip, snappy, lz4 or zstd.</summary>
    public CompressionType CompressionType { get; set; } = CompressionType.None;

    /// <summary><c>enable.idempotence</c> (default true): producer id + per-partition sequence numbers so retries
    /// never duplicate or reorder records (KIP-98, KIP-360).</summary>
    public bool EnableIdempotence { get; set; } = true;

    /// <summary><c>max.in.flight.requests.per.connection</c> (default 5): unanswered produce requests per broker;
    /// at most 5 with idempotence.</summary>
    public int MaxInFlightRequestsPerConnection { get; set; } = 5;

    /// <summary><c>buffer.memory</c> (default 32 MiB): bytes of records buffered and not yet acknowledged. When full,
    /// <see cref="KafkaProducer.ProduceAsync(ProducerRecord, System.Threading.CancellationToken)"/> waits (up to
    /// <see cref="MaxBlock"/>) instead of growing memory.</summary>
    public long BufferMemory { get; set; } = 32L * 1024 * 1024;

    /// <summary><c>max.block.ms</c> (default 60 s): how long ProduceAsync waits for buffer space or metadata and
    /// how long the transaction calls wait for the coordinator.</summary>
    public TimeSpan MaxBlock { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary><c>delivery.timeout.ms</c> (default 120 s): upper bound from ProduceAsync until the record is
    /// acknowledged or fails, retries included.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary><c>max.request.size</c> (default 1 MiB): the largest single record accepted.</summary>
    public int MaxRequestSize { get; set; } = 1024 * 1024;

    /// <summary><c>transactional.id</c> (default none): enables transactions; must be stable across restarts of the
    /// same logical producer so that a new instance fences the old one.</summary>
    public string? TransactionalId { get; set; }

    /// <summary><c>transaction.timeout.ms</c> (default 60 s): the coordinator aborts a transaction left open longer.
    /// Ignored by the broker for two-phase-commit producers, whose transactions never time out; setting it together
    /// with <see cref="TransactionTwoPhaseCommitEnable"/> is rejected, as in Java's ProducerConfig.</summary>
    public TimeSpan TransactionTimeout
    {
        get => _transactionTimeout;
        set
        {
            _transactionTimeout = value;
            _transactionTimeoutSet = true;
        }
    }

    /// <summary><c>transaction.two.phase.commit.enable</c> (default false, KIP-939): this producer participates in
    /// an external two-phase commit. InitProducerId v6 is sent with <c>Enable2Pc=true</c>, transactions never time
    /// out on the coordinator, and <see cref="KafkaProducer.PrepareTransactionAsync"/> becomes available. Needs a
    /// broker that advertises InitProducerId v6 and allows 2PC for the transactional id.</summary>
    public bool TransactionTwoPhaseCommitEnable { get; set; }

    /// <inheritdoc />
    protected override bool TrySetCore(string key, string value)
    {
        switch (key)
        {
            case "acks":
                Acks = value.ToUpperInvariant() switch
                {
                    "ALL" or "-1" => Acks.All,
                    "1" => Acks.Leader,
                    "0" => Acks.None,
                    _ => throw new FormatException("expected all, -1, 1 or 0."),
                };
                return true;
            case "linger.ms": Linger = ParseMs(value); return true;
            case "batch.size": BatchSize = ParseInt(value); return true;
            case "compression.type":
                CompressionType = value.ToUpperInvariant() switch
                {
                    "NONE" => CompressionType.None,
                    "GZIP" => CompressionType.Gzip,
                    "SNAPPY" => CompressionType.Snappy,
                    "LZ4" => CompressionType.Lz4,
                    "ZSTD" => CompressionType.Zstd,
                    _ => throw new FormatException("expected none, gzip, snappy, lz4 or zstd."),
                };
                return true;
            case "enable.idempotence": EnableIdempotence = ParseBool(value); return true;
            case "max.in.flight.requests.per.connection": MaxInFlightRequestsPerConnection = ParseInt(value); return true;
            case "buffer.memory": BufferMemory = ParseLong(value); return true;
            case "max.block.ms": MaxBlock = ParseMs(value); return true;
            case "delivery.timeout.ms": DeliveryTimeout = ParseMs(value); return true;
            case "max.request.size": MaxRequestSize = ParseInt(value); return true;
            case "transactional.id": TransactionalId = value.Length == 0 ? null : value; return true;
            case "transaction.timeout.ms": TransactionTimeout = ParseMs(value); return true;
            case "transaction.two.phase.commit.enable": TransactionTwoPhaseCommitEnable = ParseBool(value); return true;
            default: return base.TrySetCore(key, value);
        }
    }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (BatchSize <= 0)
        {
            throw new ArgumentException("batch.size must be positive.");
        }

        if (BufferMemory <= 0)
        {
            throw new ArgumentException("buffer.memory must be positive.");
        }

        if (MaxInFlightRequestsPerConnection < 1)
        {
            throw new ArgumentException("max.in.flight.requests.per.connection must be at least 1.");
        }

        if (TransactionalId is not null && !EnableIdempotence)
        {
            throw new ArgumentException("transactional.id requires enable.idempotence=true.");
        }

        if (EnableIdempotence)
        {
            // ProducerConfig.postProcessAndValidateIdempotenceConfigs.
            if (Acks != Acks.All)
            {
                throw new ArgumentException("enable.idempotence=true requires acks=all.");
            }

            if (MaxInFlightRequestsPerConnection > MaxInFlightForIdempotence)
            {
                throw new ArgumentException(
                    $"enable.idempotence=true requires max.in.flight.requests.per.connection <= {MaxInFlightForIdempotence}.");
            }
        }

        if (TransactionTwoPhaseCommitEnable && _transactionTimeoutSet)
        {
            // ProducerConfig: a 2PC transaction never times out, so an explicit timeout is a configuration mistake.
            throw new ArgumentException(
                "transaction.timeout.ms cannot be set when transaction.two.phase.commit.enable=true: two-phase-commit " +
                "transactions never time out on the coordinator (KIP-939).");
        }

        if (TransactionTwoPhaseCommitEnable && TransactionalId is null)
        {
            throw new ArgumentException("transaction.two.phase.commit.enable=true requires transactional.id.");
        }

        if (DeliveryTimeout < Linger + RequestTimeout)
        {
            throw new ArgumentException("delivery.timeout.ms must be at least linger.ms + request.timeout.ms.");
        }
    }
}
