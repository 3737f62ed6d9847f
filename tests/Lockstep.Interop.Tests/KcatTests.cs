using System.Globalization;
using System.Text;
using Lockstep.Interop.Tests.Infrastructure;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: kcat (librdkafka's command-line client, Debian package) works against the broker as users run it.
/// Method: `kcat -L` metadata listing; `kcat -P` producing 10,000 newline-delimited messages to a topic that does
/// not exist yet (auto-created with num.partitions=1, so one partition keeps the order total); `kcat -C -e` reading
/// them back from the beginning until end of partition. Asserted: the listing names the broker and the topic with
/// its partition count; the consumed output is byte-for-byte the produced input.
/// </summary>
public sealed class KcatTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Kcat_L_lists_the_broker_and_topics()
    {
        var kcat = KafkaPeers.RequireKcat();
        await using var broker = await InProcessBroker.StartAsync();
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, "listed", partitions: 3);

        var result = await ExternalProcess.RunAsync(kcat, ["-b", broker.BootstrapServers, "-L"], broker.Log, Timeout);

        Assert.True(result.ExitCode == 0, $"kcat -L exited {result.ExitCode}: {result.Stderr}");
        Assert.Contains($"broker {broker.Broker.Config.NodeId} at {broker.BootstrapServers}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("topic \"listed\" with 3 partitions:", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kcat_produces_10000_messages_and_consumes_them_back_identical()
    {
        var kcat = KafkaPeers.RequireKcat();
        await using var broker = await InProcessBroker.StartAsync();
        const string topic = "kcat-roundtrip";
        var input = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            input.Append(CultureInfo.InvariantCulture, $"message {i:D5} {new string((char)('a' + (i % 26)), i % 40)}\n");
        }

        var produce = await ExternalProcess.RunAsync(
            kcat, ["-b", broker.BootstrapServers, "-P", "-t", topic, "-X", "broker.address.family=v4"],
            broker.Log, Timeout, stdin: input.ToString());
        Assert.True(produce.ExitCode == 0, $"kcat -P exited {produce.ExitCode}: {produce.Stderr}");

        var consume = await ExternalProcess.RunAsync(
            kcat, ["-b", broker.BootstrapServers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-X", "broker.address.family=v4"],
            broker.Log, Timeout);
        Assert.True(consume.ExitCode == 0, $"kcat -C exited {consume.ExitCode}: {consume.Stderr}");

        var expected = input.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var actual = consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected, actual);
    }
}
