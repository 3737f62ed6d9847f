using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;
using Lockstep.Broker;
using Lockstep.Testing;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: the `lockstep broker` command keeps its contract with users and parent processes: exactly one
/// `listening on HOST:PORT` stdout line with the bound port, settings from a server.properties file overridden by
/// --set, a clean exit 0 on SIGTERM and on SIGINT (Ctrl-C) with the data kept, and exit code 2 with one stderr line for bad settings.
/// Method: the built CLI as a child process; a Confluent.Kafka producer observes the effective settings.
/// </summary>
public sealed class CliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Config_file_and_set_overrides_apply_and_sigterm_exits_0_keeping_the_data()
    {
        var log = new TestLog();
        using var data = new TempDirectory("cli");
        var config = data.Combine("server.properties");
        await File.WriteAllTextAsync(config, """
            # Kafka server.properties syntax
            num.partitions=2
            ! also a comment
            auto.create.topics.enable = true
            log.segment.bytes: \
                1048576
            """, TestContext.Current.CancellationToken);

        var dataDir = data.Combine("broker");
        var broker = await BrokerProcess.StartAsync(dataDir, log, arguments: ["--config", config, "--set", "num.partitions=4"]);
        await using (broker)
        {
            Assert.NotEqual(0, broker.Port);
            Assert.Equal([$"listening on 127.0.0.1:{broker.Port}"], broker.StdoutLines);

            // Auto-creation by the producer's Metadata request uses num.partitions: 4 (the --set), not 2 (the file).
            using (var producer = ConfluentClients.BuildProducer(ConfluentClients.IdempotentProducer(broker.BootstrapServers), log))
            {
                var report = await producer.ProduceAsync("auto", new Message<string, string> { Key = "k", Value = "kept" },
                    TestContext.Current.CancellationToken);
                Assert.Equal(PersistenceStatus.Persisted, report.Status);
                using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
                Assert.Equal(4, admin.GetMetadata("auto", TimeSpan.FromSeconds(30)).Topics.Single().Partitions.Count);
            }

            Assert.Equal(0, await broker.TerminateAsync(Timeout));
            Assert.Single(broker.StdoutLines);
        }

        // The clean stop kept the record: a new process on the same directory serves it.
        var restarted = await BrokerProcess.StartAsync(dataDir, log);
        await using (restarted)
        {
            var stored = ConfluentClients.ReadAll(restarted.BootstrapServers, "auto", log, Timeout);
            Assert.Equal("kept", Assert.Single(stored).Value);
            Assert.Equal(0, await restarted.TerminateAsync(Timeout, "INT")); // Ctrl-C
        }
    }

    [Theory]
    [InlineData(new[] { "--set", "num.partitons=3" }, "Unknown broker setting 'num.partitons'. Did you mean 'num.partitions'?")]
    [InlineData(new[] { "--set", "num.partitions=zero" }, "num.partitions=zero must be an integer >= 1")]
    [InlineData(new[] { "--set", "num.partitions" }, "--set expects KEY=VALUE")]
    [InlineData(new[] { "--listen", "nowhere" }, "is not HOST:PORT")]
    [InlineData(new[] { "--no-such-option" }, "--no-such-option")]
    public async Task Bad_settings_exit_2_with_one_line_on_stderr(string[] arguments, string expected)
    {
        var log = new TestLog();
        using var data = new TempDirectory("cli-bad");
        var result = await ExternalProcess.RunAsync(
            BrokerProcess.DotnetHost, [BrokerProcess.CliAssembly, "broker", "--data-dir", data.Combine("d"), .. arguments],
            log, Timeout);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
        Assert.False(Directory.Exists(data.Combine("d")), "a rejected start must not create the data directory");
    }

    [Fact]
    public async Task Bad_config_file_line_exits_2_naming_file_and_line()
    {
        var log = new TestLog();
        using var data = new TempDirectory("cli-bad-config");
        var config = data.Combine("bad.properties");
        await File.WriteAllTextAsync(config, "# ok\nnum.partitions=3\nthis line has no separator\n", TestContext.Current.CancellationToken);

        var result = await ExternalProcess.RunAsync(
            BrokerProcess.DotnetHost, [BrokerProcess.CliAssembly, "broker", "--config", config], log, Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{config}:3: expected key=value", Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_settings_lists_every_setting_with_its_default()
    {
        var log = new TestLog();
        var result = await ExternalProcess.RunAsync(
            BrokerProcess.DotnetHost, [BrokerProcess.CliAssembly, "broker", "--help-settings"], log, Timeout);

        Assert.Equal(0, result.ExitCode);
        foreach (var (name, defaultValue, _) in BrokerConfig.Describe())
        {
            Assert.Contains($"{name}={defaultValue}\n", result.Stdout, StringComparison.Ordinal);
        }
    }
}
