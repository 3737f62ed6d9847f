using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Lockstep.Client.Internal;

/// <summary>
/// Metrics (<see cref="Meter"/> "Lockstep.Client") and traces (<see cref="ActivitySource"/> "Lockstep.Client") of the
/// client. Instruments are static and shared: a <see cref="Meter"/> is cheap to listen to and free when nobody does.
/// Names follow OpenTelemetry conventions; the Java equivalents are noted (KafkaProducerMetrics.java, kip939-spec.md
/// §3.6; for the consumer FetchMetricsRegistry.java, ConsumerCoordinator.ConsumerCoordinatorMetrics and
/// AbstractCoordinator.GroupCoordinatorMetrics).
/// </summary>
/// <remarks>
/// Consumer instruments carry a <c>client.id</c> tag (Java tags every client metric with it), so one application
/// with several consumers, or a test, can tell them apart; per-partition instruments add
/// <c>messaging.destination.name</c> (topic) and <c>messaging.destination.partition.id</c> (OpenTelemetry messaging
/// semantic conventions), like Java's topic- and partition-level fetch metrics.
/// </remarks>
internal sealed class ClientDiagnostics
{
    public const string Name = "Lockstep.Client";

    /// <summary>Tag names (Java's <c>client-id</c>; OpenTelemetry messaging conventions for topic and partition).
    /// </summary>
    public const string ClientIdTag = "client.id";

    public const string TopicTag = "messaging.destination.name";

    public const string PartitionTag = "messaging.destination.partition.id";

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

        RecordsConsumed = Meter.CreateCounter<long>("lockstep.client.consume.records", "{record}",
            "Records returned to the application by ConsumeAsync (Java: records-consumed-total, per client and topic).");
        BytesFetched = Meter.CreateCounter<long>("lockstep.client.consume.fetch.bytes", "By",
            "Record-batch bytes received in Fetch responses, before decompression and read_committed filtering " +
            "(closest Java metrics: bytes-consumed-total, fetch-size-avg; per client and topic).");
        FetchLatency = Meter.CreateHistogram<double>("lockstep.client.consume.fetch.duration", "ms",
            "Fetch request round trip, including the broker's fetch.max.wait.ms long poll (Java: fetch-latency-avg/max).");
        ConsumerLag = Meter.CreateHistogram<long>("lockstep.client.consume.lag", "{record}",
            "Per partition, at each fetch: high watermark (read_committed: last stable offset) minus the next fetch " +
            "offset, i.e. records not fetched yet (Java: records-lag, records-lag-max, taken against the consumed " +
            "position when records are returned).");
        CommitLatency = Meter.CreateHistogram<double>("lockstep.client.consume.commit.duration", "ms",
            "Successful CommitAsync duration, retries included (Java: commit-latency-avg/max).");
        Rebalances = Meter.CreateCounter<long>("lockstep.client.consume.rebalances", "{rebalance}",
            "Completed group joins: JoinGroup + SyncGroup and the assignment applied (Java: rebalance-total).");
        RebalanceDuration = Meter.CreateHistogram<double>("lockstep.client.consume.rebalance.duration", "ms",
            "From the start of a group (re)join to its assignment applied, the assigned callback included " +
            "(Java: rebalance-latency-avg/max).");
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

    public Counter<long> RecordsConsumed { get; }

    public Counter<long> BytesFetched { get; }

    public Histogram<double> FetchLatency { get; }

    public Histogram<long> ConsumerLag { get; }

    public Histogram<double> CommitLatency { get; }

    public Counter<long> Rebalances { get; }

    public Histogram<double> RebalanceDuration { get; }

    /// <summary>Tags of a client-level consumer measurement.</summary>
    public static TagList ClientTags(string clientId) => new() { { ClientIdTag, clientId } };

    /// <summary>Tags of a topic-level consumer measurement.</summary>
    public static TagList TopicTags(string clientId, string topic) =>
        new() { { ClientIdTag, clientId }, { TopicTag, topic } };

    /// <summary>Tags of a partition-level consumer measurement.</summary>
    public static TagList PartitionTags(string clientId, TopicPartition partition) =>
        new() { { ClientIdTag, clientId }, { TopicTag, partition.Topic }, { PartitionTag, partition.Partition } };
}
