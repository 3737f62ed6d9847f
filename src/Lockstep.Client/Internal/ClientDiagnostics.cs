using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Lockstep.Client.Internal;

/// <summary>
/// Metrics (<see cref="Meter"/> "Lockstep.Client") and traces (<see cref="ActivitySource"/> "Lockstep.Client") of the
/// client. Instruments are static and shared: a <see cref="Meter"/> is cheap to listen to and free when nobody does.
/// Names follow OpenTelemetry conventions; the Java equivalents are noted (KafkaProducerMetrics.java, kip939-spec.md
/// §3.6).
/// </summary>
internal sealed class ClientDiagnostics
{
    public const string Name = "Lockstep.Client";

    public static readonly ClientDiagnostics Shared = new();

    private ClientDiagnostics()
    {
        Meter = new Meter(Name, "0.1.0");
        ActivitySource = new ActivitySource(Name, "0.1.0");
        ProduceLatency = Meter.CreateHistogram<double>("lockstep.client.produce.duration", "ms",
            "Time from ProduceAsync to the broker's acknowledgement (Java: record-queue-time + request-latency).");
        BatchesSent = Meter.CreateCounter<long>("lockstep.client.produce.batches", "{batch}",
            "Record batches sent in Produce requests, retries included.");
        RecordsSent = Meter.CreateCounter<long>("lockstep.client.produce.records", "{record}",
            "Records acknowledged by the broker.");
        Retries = Meter.CreateCounter<long>("lockstep.client.produce.retries", "{batch}",
            "Batches re-sent after a retriable error (Java: record-retry-rate).");
        TransactionCommitDuration = Meter.CreateHistogram<double>("lockstep.client.transaction.commit.duration", "ms",
            "CommitTransactionAsync duration (Java: txn-commit-time-ns-total).");
        TransactionAbortDuration = Meter.CreateHistogram<double>("lockstep.client.transaction.abort.duration", "ms",
            "AbortTransactionAsync duration (Java: txn-abort-time-ns-total).");
        TransactionPrepareDuration = Meter.CreateHistogram<double>("lockstep.client.transaction.prepare.duration",
            "ms", "PrepareTransactionAsync duration, i.e. the flush (Java: txn-prepare-time-ns-total, KIP-939).");
        TransactionInitDuration = Meter.CreateHistogram<double>("lockstep.client.transaction.init.duration", "ms",
            "InitTransactionsAsync duration (Java: txn-init-time-ns-total).");
    }

    public Meter Meter { get; }

    public ActivitySource ActivitySource { get; }

    public Histogram<double> ProduceLatency { get; }

    public Counter<long> BatchesSent { get; }

    public Counter<long> RecordsSent { get; }

    public Counter<long> Retries { get; }

    public Histogram<double> TransactionCommitDuration { get; }

    public Histogram<double> TransactionAbortDuration { get; }

    public Histogram<double> TransactionPrepareDuration { get; }

    public Histogram<double> TransactionInitDuration { get; }
}
