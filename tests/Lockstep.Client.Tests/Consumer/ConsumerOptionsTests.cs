namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: consumer and admin options accept Kafka's config names and values (and Java's assignor class names),
/// keep Lockstep's documented defaults, and reject typos and inconsistent settings. Method: parse and validate.
/// </summary>
public sealed class ConsumerOptionsTests
{
    [Fact]
    public void Kafka_names_set_the_typed_options()
    {
        var options = KafkaConsumerOptions.FromConfig(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "localhost:9092",
            ["group.id"] = "g",
            ["group.instance.id"] = "i-1",
            ["isolation.level"] = "read_uncommitted",
            ["auto.offset.reset"] = "earliest",
            ["enable.auto.commit"] = "true",
            ["session.timeout.ms"] = "12000",
            ["heartbeat.interval.ms"] = "500",
            ["max.poll.interval.ms"] = "60000",
            ["fetch.min.bytes"] = "10",
            ["fetch.max.wait.ms"] = "250",
            ["max.partition.fetch.bytes"] = "4096",
            ["partition.assignment.strategy"] = "org.apache.kafka.clients.consumer.RangeAssignor",
        });
        options.Validate();

        Assert.Equal("g", options.GroupId);
        Assert.Equal("i-1", options.GroupInstanceId);
        Assert.Equal(KafkaConsumerIsolationLevel.ReadUncommitted, options.IsolationLevel);
        Assert.Equal(KafkaConsumerOffsetReset.Earliest, options.AutoOffsetReset);
        Assert.True(options.EnableAutoCommit);
        Assert.Equal(TimeSpan.FromSeconds(12), options.SessionTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MaxPollInterval);
        Assert.Equal(10, options.FetchMinBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.FetchMaxWait);
        Assert.Equal(4096, options.MaxPartitionFetchBytes);
        Assert.Equal(KafkaConsumerAssignmentStrategy.Range, options.PartitionAssignmentStrategy);
    }

    [Fact]
    public void Defaults_are_read_committed_latest_and_no_auto_commit()
    {
        var options = new KafkaConsumerOptions();

        Assert.Equal(KafkaConsumerIsolationLevel.ReadCommitted, options.IsolationLevel);
        Assert.Equal(KafkaConsumerOffsetReset.Latest, options.AutoOffsetReset);
        Assert.False(options.EnableAutoCommit);
        Assert.Equal(KafkaConsumerAssignmentStrategy.CooperativeSticky, options.PartitionAssignmentStrategy);
    }

    [Theory]
    [InlineData("isolation.level", "serializable")]
    [InlineData("auto.offset.reset", "smallest")]
    [InlineData("partition.assignment.strategy", "roundrobin")]
    [InlineData("group.idd", "typo")]
    public void Unknown_keys_and_values_are_rejected(string key, string value)
    {
        var options = new KafkaConsumerOptions();
        var error = Assert.Throws<ArgumentException>(() => options.Set(key, value));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Heartbeat_must_be_below_the_session_timeout_and_instance_id_needs_a_group()
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "h:1", HeartbeatInterval = TimeSpan.FromMinutes(1) };
        Assert.Throws<ArgumentException>(options.Validate);
        options = new KafkaConsumerOptions { BootstrapServers = "h:1", GroupInstanceId = "i" };
        Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(TimeSpan.FromSeconds(5),
            KafkaAdminClientOptions.FromConfig(new Dictionary<string, string> { ["default.api.timeout.ms"] = "5000" })
                .DefaultApiTimeout);
    }
}
