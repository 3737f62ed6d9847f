using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Lockstep.DualWrite.Tests;

/// <summary>One event as an independent read_committed consumer (librdkafka, sharing no code with the writer) sees it.
/// </summary>
internal readonly record struct CommittedEvent(int Partition, long Offset, byte[] Key, byte[] Value)
{
    /// <summary>The order id the demo's events carry as their key.</summary>
    public int KeyAsOrderId => int.Parse(Encoding.UTF8.GetString(Key), CultureInfo.InvariantCulture);
}

/// <summary>The verdict side of every dual-write test: what read_committed consumers will see.</summary>
internal static class CommittedEvents
{
    /// <summary>
    /// Every event of <paramref name="topic"/> a read_committed consumer sees, in (partition, offset) order, duplicates
    /// kept: reads to the last stable offset of each partition and then 500 ms more, so a commit marker still in flight
    /// cannot cut the read short.
    /// </summary>
    public static Task<List<CommittedEvent>> ReadAsync(string bootstrapServers, string topic, int partitions) => Task.Run(() =>
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "verifier-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var events = new List<CommittedEvent>();
        var atEnd = new HashSet<int>();
        var stopwatch = Stopwatch.StartNew();
        var quietSince = TimeSpan.MaxValue;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null)
            {
                if (atEnd.Count == partitions && stopwatch.Elapsed - quietSince > TimeSpan.FromMilliseconds(500))
                {
                    return events.OrderBy(e => e.Partition).ThenBy(e => e.Offset).ToList();
                }

                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                quietSince = atEnd.Count == partitions ? stopwatch.Elapsed : TimeSpan.MaxValue;
                continue;
            }

            atEnd.Remove(result.Partition.Value);
            quietSince = TimeSpan.MaxValue;
            events.Add(new CommittedEvent(result.Partition.Value, result.Offset.Value, result.Message.Key, result.Message.Value));
        }

        throw new TimeoutException("read_committed consumer did not reach the end of every partition in 30 s");
    });

    /// <summary>The order ids (event keys) a read_committed consumer sees, sorted, duplicates kept.</summary>
    public static async Task<List<int>> ReadOrderIdsAsync(string bootstrapServers, string topic, int partitions)
    {
        var ids = (await ReadAsync(bootstrapServers, topic, partitions)).Select(e => e.KeyAsOrderId).ToList();
        ids.Sort();
        return ids;
    }
}
