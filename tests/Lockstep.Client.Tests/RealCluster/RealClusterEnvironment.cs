using System.Globalization;
using Lockstep.Client.Admin;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.RealCluster;

/// <summary>
/// The opt-in real-cluster suite's switch and naming. The suite runs only when <see cref="Variable"/> names a Kafka
/// cluster; otherwise every test is skipped with a reason naming the variable. This is deliberately NOT
/// <c>Peers.RequireOrSkip</c>: no real cluster is expected under CI, so its absence is never a failure.
/// </summary>
internal static class RealClusterEnvironment
{
    /// <summary>Bootstrap servers of the cluster to test against, e.g. <c>kafka1:9092,kafka2:9092</c>.</summary>
    public const string Variable = "LOCKSTEP_KAFKA_BOOTSTRAP";

    /// <summary>Shared by every topic, group and transactional id of this process: a real cluster keeps data, so
    /// names must never collide with an earlier run's.</summary>
    private static readonly string RunId =
        DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];

    /// <summary>Returns the bootstrap servers, or skips the current test (xUnit v3 dynamic skip) naming the variable.</summary>
    public static string BootstrapOrSkip()
    {
        var bootstrap = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(bootstrap))
        {
            Assert.Skip($"Opt-in real-cluster suite: {Variable} is not set. Set {Variable}=host:port[,host:port] to run "
                        + "it against a real Kafka cluster (it creates uniquely named topics there). Not a missing CI peer: "
                        + "never a failure.");
        }

        return bootstrap.Trim();
    }

    /// <summary>A name unique to this run, for topics, groups and transactional ids.</summary>
    public static string Unique(string what) => $"lockstep-test-{RunId}-{what}";

    public static KafkaProducerOptions ProducerOptions(string bootstrap, string? transactionalId = null, bool twoPhase = false) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = "lockstep-real-cluster-tests",
        TransactionalId = transactionalId,
        TransactionTwoPhaseCommitEnable = twoPhase,
        RequestTimeout = TimeSpan.FromSeconds(15),
        MaxBlock = TimeSpan.FromSeconds(60),
        DeliveryTimeout = TimeSpan.FromSeconds(60),
    };

    public static KafkaConsumerOptions ConsumerOptions(string bootstrap, KafkaConsumerIsolationLevel isolation, string? groupId = null) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = "lockstep-real-cluster-tests",
        GroupId = groupId,
        IsolationLevel = isolation,
        AutoOffsetReset = KafkaConsumerOffsetReset.Earliest,
        SessionTimeout = TimeSpan.FromSeconds(10),
        HeartbeatInterval = TimeSpan.FromSeconds(1),
        FetchMaxWait = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>Creates a topic with the cluster's default replication factor (a real cluster decides, not us).</summary>
    public static async Task CreateTopicAsync(string bootstrap, string topic, int partitions)
    {
        await using var admin = new KafkaAdminClient(new KafkaAdminClientOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "lockstep-real-cluster-tests",
        });
        await admin.CreateTopicsAsync([new NewTopic(topic, partitions)], cancellationToken: Ct);
    }
}
