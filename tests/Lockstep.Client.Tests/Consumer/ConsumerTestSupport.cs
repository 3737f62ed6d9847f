using System.Text;
using Lockstep.Client.Admin;
using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>Options and helpers shared by the consumer and admin tests (fast back-offs, short heartbeats, bounded
/// waits so a hang fails the test instead of stalling the run).</summary>
internal static class ConsumerTestSupport
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    public static KafkaConsumerOptions ConsumerOptions(this ClientTestBroker broker, string? groupId = null) => new()
    {
        BootstrapServers = ClientTestBroker.BootstrapServers,
        ConnectionFactory = broker,
        ClientId = "consumer-tests",
        GroupId = groupId,
        AutoOffsetReset = KafkaConsumerOffsetReset.Earliest,
        RetryBackoff = TimeSpan.FromMilliseconds(10),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
        ReconnectBackoff = TimeSpan.FromMilliseconds(5),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(10),
        SessionTimeout = TimeSpan.FromSeconds(10),
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        MaxPollInterval = TimeSpan.FromSeconds(30),
        FetchMaxWait = TimeSpan.FromMilliseconds(100),
    };

    public static KafkaAdminClientOptions AdminOptions(this ClientTestBroker broker) => new()
    {
        BootstrapServers = ClientTestBroker.BootstrapServers,
        ConnectionFactory = broker,
        ClientId = "admin-tests",
        RetryBackoff = TimeSpan.FromMilliseconds(10),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(10),
        DefaultApiTimeout = TimeSpan.FromSeconds(20),
    };

    public static async Task CreateTopicAsync(ClientTestBroker broker, string topic, int partitions)
    {
        await using var admin = new KafkaAdminClient(broker.AdminOptions());
        await admin.CreateTopicsAsync([new NewTopic(topic, partitions, 1)], cancellationToken: Ct);
    }

    /// <summary>Produces "value-i" (key "key-i") for i in [0, count) with Lockstep's idempotent producer.</summary>
    public static async Task<List<DeliveryResult>> ProduceAsync(
        ClientTestBroker broker, string topic, int count, int? partition = null, int start = 0)
    {
        await using var producer = new KafkaProducer(broker.ProducerOptions());
        var tasks = Enumerable.Range(start, count)
            .Select(i => producer.ProduceAsync(new ProducerRecord(topic, Bytes($"key-{i}"), Bytes($"value-{i}"))
            {
                Partition = partition,
            }, Ct))
            .ToList();
        var results = new List<DeliveryResult>();
        foreach (var task in tasks)
        {
            results.Add(await task);
        }

        return results;
    }

    /// <summary>Consumes exactly <paramref name="count"/> records or fails after <see cref="WaitLimit"/>.</summary>
    public static async Task<List<ConsumeResult>> ConsumeAsync(KafkaConsumer consumer, int count)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(WaitLimit);
        var records = new List<ConsumeResult>(count);
        while (records.Count < count)
        {
            records.Add(await consumer.ConsumeAsync(limit.Token));
        }

        return records;
    }

    /// <summary>Consumes until nothing arrives for <paramref name="quiet"/> (used where the absence of records is
    /// the point; the assertion is on what did arrive, never on the time taken).</summary>
    public static async Task<List<ConsumeResult>> ConsumeUntilQuietAsync(KafkaConsumer consumer, TimeSpan quiet)
    {
        var records = new List<ConsumeResult>();
        while (true)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            idle.CancelAfter(quiet);
            try
            {
                records.Add(await consumer.ConsumeAsync(idle.Token));
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                return records;
            }
        }
    }

    /// <summary>Polls <paramref name="condition"/> until true or <see cref="WaitLimit"/>.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what);

    /// <summary>Polls an asynchronous <paramref name="condition"/> until true or <see cref="WaitLimit"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(WaitLimit);
        while (!await condition())
        {
            try
            {
                await Task.Delay(20, limit.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }
        }
    }

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(byte[]? bytes) => bytes is null ? "<null>" : Encoding.UTF8.GetString(bytes);
}
