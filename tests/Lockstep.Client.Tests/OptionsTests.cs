using Lockstep.Protocol.Records;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: options accept Kafka's config names and typed properties alike, reject unknown keys and inconsistent
/// combinations with messages that name the setting. Method: build options from dictionaries and validate.
/// </summary>
public sealed class OptionsTests
{
    [Fact]
    public void FromConfig_maps_Kafka_names_to_typed_properties()
    {
        var options = KafkaProducerOptions.FromConfig(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "a:1,b:2",
            ["client.id"] = "app",
            ["linger.ms"] = "20",
            ["batch.size"] = "1000",
            ["compression.type"] = "zstd",
            ["acks"] = "all",
            ["request.timeout.ms"] = "1500",
            ["delivery.timeout.ms"] = "5000",
            ["transactional.id"] = "tx",
            ["transaction.two.phase.commit.enable"] = "TRUE",
            ["metadata.max.age.ms"] = "60000",
        });
        Assert.Equal("a:1,b:2", options.BootstrapServers);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.Linger);
        Assert.Equal(1000, options.BatchSize);
        Assert.Equal(CompressionType.Zstd, options.CompressionType);
        Assert.Equal(Acks.All, options.Acks);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MetadataMaxAge);
        Assert.True(options.TransactionTwoPhaseCommitEnable);
        options.Validate();
    }

    [Fact]
    public void Unknown_key_is_rejected_with_its_name()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            KafkaProducerOptions.FromConfig(new Dictionary<string, string> { ["linger.msx"] = "5" }));
        Assert.Contains("linger.msx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_value_is_rejected_with_key_and_value()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            KafkaProducerOptions.FromConfig(new Dictionary<string, string> { ["compression.type"] = "brotli" }));
        Assert.Contains("compression.type", ex.Message, StringComparison.Ordinal);
        Assert.Contains("brotli", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("acks", "1", "acks=all")]
    [InlineData("max.in.flight.requests.per.connection", "6", "max.in.flight.requests.per.connection")]
    [InlineData("transaction.timeout.ms", "1000", "transaction.timeout.ms")]
    public void Inconsistent_settings_fail_validation(string key, string value, string expected)
    {
        var options = KafkaProducerOptions.FromConfig(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "a:1",
            ["transactional.id"] = "tx",
            ["transaction.two.phase.commit.enable"] = "true",
            [key] = value,
        });
        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_bootstrap_servers_fails_validation()
    {
        var ex = Assert.Throws<ArgumentException>(() => new KafkaProducerOptions().Validate());
        Assert.Contains("bootstrap.servers", ex.Message, StringComparison.Ordinal);
    }
}
