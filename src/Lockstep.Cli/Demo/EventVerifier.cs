using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;

namespace Lockstep.Cli.Demo;

/// <summary>
/// Reads every OrderPlaced event the way a downstream service would: an independent, real Kafka client
/// (Confluent.Kafka / librdkafka) with <c>isolation.level=read_committed</c>, so aborted transactions are filtered
/// by a client that shares no code with the writer. Lockstep's own consumer can replace it once it ships.
/// </summary>
internal static class EventVerifier
{
    /// <summary>Reads the whole topic up to the last stable offset and returns the order id of every event, in
    /// consumption order (a duplicate appears twice).</summary>
    /// <param name="bootstrapServers">The broker.</param>
    /// <param name="topic">The topic.</param>
    /// <param name="timeout">Gives up after this long without reaching the end of every partition.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The order ids.</returns>
    public static Task<List<int>> ReadCommittedOrderIdsAsync(
        string bootstrapServers, string topic, TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.Run(() => ReadOrderIds(bootstrapServers, topic, IsolationLevel.ReadCommitted, timeout, null, cancellationToken),
            cancellationToken);

    /// <summary>Diagnostics when DB and Kafka disagree: every record of the topic, aborted and open transactions
    /// included, as "order@partition/offset" lines for the given order ids.</summary>
    public static Task<List<string>> DescribeUncommittedAsync(
        string bootstrapServers, string topic, IReadOnlySet<int> orderIds, TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            var lines = new List<string>();
            using (var probe = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers,
                GroupId = "lockstep-demo-probe",
            }).Build())
            {
                foreach (var partition in PartitionsOf(bootstrapServers, topic))
                {
                    var w = probe.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10));
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"partition {partition.Partition.Value}: low {w.Low.Value} high {w.High.Value}"));
                }
            }

            ReadOrderIds(bootstrapServers, topic, IsolationLevel.ReadUncommitted, timeout, (id, result) =>
            {
                if (orderIds.Contains(id))
                {
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"order {id} at partition {result.Partition.Value} offset {result.Offset.Value} (read_uncommitted)"));
                }
            }, cancellationToken);
            return lines;
        }, cancellationToken);

    private static List<int> ReadOrderIds(string bootstrapServers, string topic, IsolationLevel isolation, TimeSpan timeout,
        Action<int, ConsumeResult<byte[], byte[]>>? observe, CancellationToken cancellationToken)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "lockstep-demo-verifier-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = isolation,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var partitions = PartitionsOf(bootstrapServers, topic);
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));

        var ids = new List<int>();
        var atEnd = new HashSet<Partition>();
        var deadline = DateTimeOffsetNow() + timeout;
        // read_committed ends at the last stable offset; after a partition reports EOF keep polling briefly, so a
        // commit marker still being written cannot make the read stop short.
        var quietUntil = DateTimeOffset.MaxValue;
        while (DateTimeOffsetNow() < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null)
            {
                if (atEnd.Count == partitions.Count && DateTimeOffsetNow() >= quietUntil)
                {
                    return ids;
                }

                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition);
                if (atEnd.Count == partitions.Count)
                {
                    quietUntil = DateTimeOffsetNow() + TimeSpan.FromMilliseconds(500);
                }

                continue;
            }

            atEnd.Remove(result.Partition);
            quietUntil = DateTimeOffset.MaxValue;
            var id = int.Parse(Encoding.UTF8.GetString(result.Message.Key), NumberStyles.None, CultureInfo.InvariantCulture);
            ids.Add(id);
            observe?.Invoke(id, result);
        }

        throw new TimeoutException($"Did not reach the end of '{topic}' within {timeout.TotalSeconds:0} s "
            + $"({atEnd.Count}/{partitions.Count} partitions at their last stable offset).");
    }

    private static List<TopicPartition> PartitionsOf(string bootstrapServers, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var topicMetadata = metadata.Topics.Single(t => t.Topic == topic);
        if (topicMetadata.Error.IsError)
        {
            throw new InvalidOperationException($"Topic '{topic}': {topicMetadata.Error.Reason}");
        }

        return [.. topicMetadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId))];
    }

    private static DateTimeOffset DateTimeOffsetNow() => TimeProvider.System.GetUtcNow();
}
